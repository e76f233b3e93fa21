-- 015: the HTTP API (sg-api, docs/api.md). Its bearer tokens, its access
-- log, and the privileges of its own least-privilege role sg_api (created
-- with the others by scripts/db-roles.sql): it reads the statistics and
-- compliance tables, files privacy requests without ever being able to
-- read an e-mail back, and nothing else. Never users_pii.

-- Tokens: only the SHA-256 of a token is stored (sg-api token create
-- prints the token once). A name is unique among the tokens in force; a
-- revoked token stays listed, and its name may be given to a new one.
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    role          text NOT NULL CHECK (role IN ('ingest', 'analyst', 'privacy', 'admin')),
    token_sha256  bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_tokens_name_active ON api_tokens (name) WHERE revoked_at IS NULL;

-- One row per request: the route template (never the raw path or query
-- string), no client address, no body. token_name and role are NULL when
-- the request carried no known token; route is NULL when no route matched.
CREATE TABLE api_access_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL,
    token_name   text,
    role         text,
    method       text NOT NULL,
    route        text,
    status       integer NOT NULL,
    duration_ms  double precision NOT NULL
);
CREATE INDEX api_access_log_at ON api_access_log (at);
-- The refused ones, for sg-report access-audit.
CREATE INDEX api_access_log_refused ON api_access_log (at) WHERE status IN (401, 403);

-- Privileges of sg_api. Statistics: every metrics_* table and view (the
-- batch-vs-streaming comparison views included) and the compliance tables
-- and view the query routes read, the consumers' offsets for the lag.
GRANT USAGE ON SCHEMA public TO sg_api;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace
                AND c.relkind IN ('r', 'p', 'v')
                AND c.relname LIKE 'metrics\_%'
              ORDER BY 1 LOOP
        EXECUTE format('GRANT SELECT ON %I TO sg_api', r.relname);
    END LOOP;
END
$$;
GRANT SELECT ON compliance_flags, compliance_flags_batch, compliance_daily, compliance_late,
                compliance_flags_compare, stream_offsets TO sg_api;
-- Privacy requests: it may file one (kind and e-mail) and read back the
-- id (INSERT ... RETURNING) and the outcome columns; never email, nor its
-- hash, nor the user it matched.
GRANT INSERT (kind, email) ON privacy_requests TO sg_api;
GRANT SELECT (id, kind, status, requested_at, processed_at, error) ON privacy_requests TO sg_api;
GRANT USAGE ON SEQUENCE privacy_requests_id_seq TO sg_api;
-- Its tokens: read them, record their last use. Creating and revoking
-- tokens is the owner's (sg-api token ... connects as sg_owner).
GRANT SELECT (id, name, role, token_sha256, revoked_at) ON api_tokens TO sg_api;
GRANT UPDATE (last_used_at) ON api_tokens TO sg_api;
GRANT INSERT ON api_access_log TO sg_api;
GRANT USAGE ON SEQUENCE api_access_log_id_seq TO sg_api;

-- sg-report access-audit (as sg_analytics, or the daemons' role like the
-- rest of that report) lists the refused requests.
GRANT SELECT ON api_access_log TO sg_analytics, sg_writer;
