-- 013: audited access to personal data, and the right of access
-- (012 is another issue's).
--
-- users_pii is read only through SECURITY DEFINER functions owned by
-- sg_owner that require a purpose from a fixed list and append one row per
-- user read to pii_access_log (who: session_user; why; which user; which
-- columns). Nobody but the owner may SELECT or UPDATE users_pii directly;
-- sg_writer keeps INSERT (sg-seed-users). EXECUTE goes to sg_writer only:
-- the analytics role reads neither the table nor the functions, but reads
-- the access log (user ids, roles, purposes: no personal data).
--
-- A refused attempt (a direct SELECT, a function without EXECUTE, a
-- lookup without a valid purpose) is an error with SQLSTATE 42501: it
-- rolls back, so it is in the server's log (csvlog), not in this table.
-- Likewise an access made in a transaction that is rolled back leaves no
-- row here; pgaudit's object audit (pgaudit.role = sg_auditor, see
-- scripts/pg-audit.sh) logs every statement touching users_pii, nested
-- ones in these functions included, outside the transaction.

CREATE TABLE pii_purposes (
    purpose     text PRIMARY KEY,
    description text NOT NULL
);
INSERT INTO pii_purposes VALUES
    ('erasure', 'sg-gdpr matching and anonymising the users a privacy request names'),
    ('access_export', 'sg-gdpr exporting a user''s data for an access request (GDPR art. 15, 20)'),
    ('support', 'a person handling a support case of this user'),
    ('legal_obligation', 'a disclosure the law requires (court order, tax)');

CREATE TABLE pii_access_log (
    id          bigserial PRIMARY KEY,
    accessed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    db_role     text NOT NULL DEFAULT session_user,
    purpose     text NOT NULL REFERENCES pii_purposes,
    user_id     uuid,                     -- NULL: the lookup found nobody
    columns     text[] NOT NULL
);
CREATE INDEX pii_access_log_at ON pii_access_log (accessed_at);

CREATE FUNCTION pii_access_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pii_access_log is append-only' USING ERRCODE = '42501';
END $$;
CREATE TRIGGER pii_access_log_append_only BEFORE UPDATE OR DELETE ON pii_access_log
    FOR EACH ROW EXECUTE FUNCTION pii_access_log_append_only();

-- Refuses (42501, like any permission failure, so the server log has it)
-- a purpose that is missing or not in pii_purposes; with p_only, any other
-- than that one. The message names the function, never the value given.
CREATE FUNCTION pii_require_purpose(p_purpose text, p_fn text, p_only text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    IF p_purpose IS NULL
       OR NOT EXISTS (SELECT 1 FROM pii_purposes WHERE purpose = p_purpose)
       OR (p_only IS NOT NULL AND p_purpose <> p_only) THEN
        RAISE EXCEPTION 'permission denied for function %', p_fn
            USING ERRCODE = '42501',
                  HINT = CASE WHEN p_only IS NULL
                              THEN 'a purpose listed in pii_purposes is required'
                              ELSE format('the purpose must be %s', p_only) END;
    END IF;
END $$;

-- The row of one user, for a purpose. One access-log row, found or not.
CREATE FUNCTION pii_lookup(p_user uuid, p_purpose text) RETURNS SETOF users_pii
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM pii_require_purpose(p_purpose, 'pii_lookup');
    INSERT INTO pii_access_log (purpose, user_id, columns)
    VALUES (p_purpose, p_user, '{email,first_name,last_name,street_address,city,postal_code,country}');
    RETURN QUERY SELECT * FROM users_pii u WHERE u.user_id = p_user;
END $$;

-- The rows whose e-mail matches p_email after trimming and case-folding
-- (users_pii_email_norm), for a purpose. One access-log row per user
-- found, or one without a user when none is.
CREATE FUNCTION pii_find_by_email(p_email text, p_purpose text) RETURNS SETOF users_pii
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM pii_require_purpose(p_purpose, 'pii_find_by_email');
    RETURN QUERY SELECT * FROM users_pii u
                  WHERE lower(btrim(u.email)) = nullif(lower(btrim(p_email)), '')
                  ORDER BY u.user_id;
    INSERT INTO pii_access_log (purpose, user_id, columns)
    SELECT p_purpose, u.user_id,
           '{email,first_name,last_name,street_address,city,postal_code,country}'
      FROM users_pii u
     WHERE lower(btrim(u.email)) = nullif(lower(btrim(p_email)), '');
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN
        INSERT INTO pii_access_log (purpose, user_id, columns)
        VALUES (p_purpose, NULL, '{email}');
    END IF;
END $$;

-- sg-gdpr, erasure step 1 (gdpr/erase.c): locks, in user_id order, the
-- live users whose e-mail a claimed request names. Returns their ids (no
-- personal data); logs nothing (step 2 does).
CREATE FUNCTION pii_lock_requests(p_requests bigint[], p_purpose text) RETURNS SETOF uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM pii_require_purpose(p_purpose, 'pii_lock_requests', 'erasure');
    RETURN QUERY
    SELECT u.user_id FROM users_pii u
     WHERE lower(btrim(u.email)) IN (
           SELECT lower(btrim(r.email)) FROM privacy_requests r
            WHERE r.id = ANY (p_requests) AND r.status = 'pending'
              AND r.kind = 'erasure')
     ORDER BY u.user_id FOR UPDATE OF u;
END $$;

-- sg-gdpr, erasure step 2: for the pending erasure requests p_requests,
-- the users whose normalised e-mail matches, each with its anonymized_at
-- and the PII columns that held a value, as they were BEFORE this call;
-- the users not yet anonymised are anonymised (anonymized_at = p_at), one
-- access-log row each (the columns cleared). The caller derives outcomes,
-- audit rows and notices from the rows returned, in its transaction.
CREATE FUNCTION pii_erase_requests(p_requests bigint[], p_at timestamptz, p_purpose text)
RETURNS TABLE (request_id bigint, user_id uuid, anonymized_at timestamptz, cols text[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM pii_require_purpose(p_purpose, 'pii_erase_requests', 'erasure');
    CREATE TEMP TABLE IF NOT EXISTS pg_temp.sg_pii_matched (
        request_id bigint, user_id uuid, anonymized_at timestamptz, cols text[])
        ON COMMIT DROP;
    TRUNCATE pg_temp.sg_pii_matched;
    INSERT INTO pg_temp.sg_pii_matched
    SELECT r.id, u.user_id, u.anonymized_at,
           array_remove(ARRAY[
             CASE WHEN u.email IS NOT NULL THEN 'email' END,
             CASE WHEN u.first_name IS NOT NULL THEN 'first_name' END,
             CASE WHEN u.last_name IS NOT NULL THEN 'last_name' END,
             CASE WHEN u.street_address IS NOT NULL THEN 'street_address' END,
             CASE WHEN u.city IS NOT NULL THEN 'city' END,
             CASE WHEN u.postal_code IS NOT NULL THEN 'postal_code' END
           ], NULL)
      FROM privacy_requests r
      JOIN users_pii u ON lower(btrim(u.email)) = nullif(lower(btrim(r.email)), '')
     WHERE r.id = ANY (p_requests) AND r.status = 'pending' AND r.kind = 'erasure';
    UPDATE users_pii u
       SET email = NULL, first_name = NULL, last_name = NULL,
           street_address = NULL, city = NULL, postal_code = NULL,
           anonymized_at = p_at
     WHERE u.user_id IN (SELECT m.user_id FROM pg_temp.sg_pii_matched m
                          WHERE m.anonymized_at IS NULL);
    INSERT INTO pii_access_log (purpose, user_id, columns)
    SELECT DISTINCT ON (m.user_id) p_purpose, m.user_id, m.cols
      FROM pg_temp.sg_pii_matched m WHERE m.anonymized_at IS NULL
     ORDER BY m.user_id;
    RETURN QUERY SELECT m.request_id, m.user_id, m.anonymized_at, m.cols
                   FROM pg_temp.sg_pii_matched m ORDER BY m.request_id, m.user_id;
END $$;

-- sg-gdpr, access export (gdpr/export.c): the users a pending access
-- request names: live users by normalised e-mail, and users erased for an
-- earlier request with the same e-mail hash. Ids only, unlogged: their
-- rows are then read with pii_lookup (purpose access_export), logged.
CREATE FUNCTION pii_request_subjects(p_request bigint, p_purpose text)
RETURNS TABLE (user_id uuid)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
    PERFORM pii_require_purpose(p_purpose, 'pii_request_subjects', 'access_export');
    RETURN QUERY
    WITH r AS (SELECT nullif(lower(btrim(q.email)), '') AS norm FROM privacy_requests q
                WHERE q.id = p_request AND q.status = 'pending' AND q.kind = 'access')
    SELECT u.user_id FROM r JOIN users_pii u ON lower(btrim(u.email)) = r.norm
    UNION
    SELECT p.user_id FROM r JOIN privacy_requests p
        ON p.email_sha256 = encode(sha256(convert_to(r.norm, 'UTF8')), 'hex')
     WHERE p.status IN ('anonymized', 'already_anonymized') AND p.user_id IS NOT NULL
    ORDER BY 1;
END $$;

-- Which of p_users have a users_pii row (sg-seed-users): ids only.
CREATE FUNCTION pii_users_present(p_users uuid[]) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT u.user_id FROM users_pii u WHERE u.user_id = ANY (p_users)
$$;

-- Access requests (GDPR art. 15 and 20): kind 'access' is exported by
-- sg-gdpr (status 'exported'); 'erasure' stays the default.
ALTER TABLE privacy_requests
    ADD COLUMN kind text NOT NULL DEFAULT 'erasure' CHECK (kind IN ('erasure', 'access'));
ALTER TABLE privacy_requests DROP CONSTRAINT privacy_requests_status_check;
ALTER TABLE privacy_requests ADD CONSTRAINT privacy_requests_status_check
    CHECK (status IN ('pending', 'anonymized', 'already_anonymized', 'not_found',
                      'failed', 'exported'));
CREATE INDEX privacy_requests_pending_kind ON privacy_requests (kind, id)
    WHERE status = 'pending';
GRANT SELECT (kind) ON privacy_requests TO sg_analytics;

-- An export's files, in the audit trail (names and SHA-256s, never the
-- content); an erasure deleting a user's earlier exports says which.
ALTER TABLE gdpr_audit_log ADD COLUMN files text[], ADD COLUMN files_sha256 text[];

-- Privileges: direct access to users_pii for the owner only.
REVOKE ALL ON users_pii FROM PUBLIC, sg_writer, sg_analytics;
GRANT INSERT ON users_pii TO sg_writer;
REVOKE ALL ON FUNCTION pii_require_purpose(text, text, text), pii_lookup(uuid, text),
    pii_find_by_email(text, text), pii_lock_requests(bigint[], text),
    pii_erase_requests(bigint[], timestamptz, text), pii_users_present(uuid[]),
    pii_request_subjects(bigint, text)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pii_lookup(uuid, text), pii_find_by_email(text, text),
    pii_lock_requests(bigint[], text), pii_erase_requests(bigint[], timestamptz, text),
    pii_users_present(uuid[]), pii_request_subjects(bigint, text)
    TO sg_writer;
GRANT SELECT ON pii_purposes, pii_access_log TO sg_writer, sg_analytics;

-- pgaudit: the object audit role holds the privileges whose use is logged
-- (scripts/pg-audit.sh sets pgaudit.role = 'sg_auditor'). It cannot log in
-- and has no members. The extension itself (its DDL event triggers) only
-- where it is available, preloaded and we may create it (a superuser runs
-- migrations); object audit needs only the preloaded library.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_auditor') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON users_pii TO sg_auditor;
    END IF;
    -- Nested: only a superuser may read shared_preload_libraries.
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgaudit') THEN
        IF current_setting('shared_preload_libraries') ~ '(^|,)\s*pgaudit\s*(,|$)' THEN
            CREATE EXTENSION IF NOT EXISTS pgaudit;
        END IF;
    END IF;
END $$;
