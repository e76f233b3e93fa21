-- 003: privacy requests. A user asks to be forgotten with one statement:
--   INSERT INTO privacy_requests (email) VALUES ('...');
-- A trigger NOTIFYs sg-gdpr, which anonymises users_pii, records the outcome
-- and an audit row in the same transaction, and replaces the plaintext e-mail
-- of the request by its SHA-256. (users_pii's PII columns are nullable since
-- 001, so erasure can clear them.)

CREATE TABLE privacy_requests (
    id            bigserial PRIMARY KEY,
    email         text,                    -- the only PII here; NULL once processed
    email_sha256  text,                    -- hex SHA-256 of the normalised e-mail, kept as evidence
    requested_at  timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'anonymized', 'already_anonymized',
                                    'not_found', 'failed')),
    user_id       uuid,                    -- when matched
    error         text,
    notice_sent_at timestamptz,            -- erasure notice published to Kafka (outbox)
    CHECK (status = 'pending' OR email IS NULL)
);
CREATE INDEX privacy_requests_pending ON privacy_requests (id) WHERE status = 'pending';
CREATE INDEX privacy_requests_unsent ON privacy_requests (id)
    WHERE status = 'anonymized' AND notice_sent_at IS NULL;
-- Requests match users after trimming and case-folding.
CREATE INDEX users_pii_email_norm ON users_pii (lower(btrim(email)));

CREATE FUNCTION privacy_requests_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The payload is the request id only: never the e-mail.
    PERFORM pg_notify('privacy_requests', NEW.id::text);
    RETURN NEW;
END $$;

CREATE TRIGGER privacy_requests_notify AFTER INSERT ON privacy_requests
    FOR EACH ROW EXECUTE FUNCTION privacy_requests_notify();

-- Append-only audit trail, without PII: the writer role may INSERT and
-- SELECT, never UPDATE or DELETE (nor TRUNCATE).
CREATE TABLE gdpr_audit_log (
    id               bigserial PRIMARY KEY,
    request_id       bigint NOT NULL REFERENCES privacy_requests (id),
    user_id          uuid,
    action           text NOT NULL,        -- e.g. 'anonymize_user', 'not_found'
    affected_columns text[] NOT NULL DEFAULT '{}',
    processing_ms    double precision,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION gdpr_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gdpr_audit_log is append-only' USING ERRCODE = '42501';
END $$;
CREATE TRIGGER gdpr_audit_log_append_only BEFORE UPDATE OR DELETE ON gdpr_audit_log
    FOR EACH ROW EXECUTE FUNCTION gdpr_audit_log_append_only();

GRANT SELECT, INSERT, UPDATE ON privacy_requests TO sg_writer;
GRANT USAGE ON SEQUENCE privacy_requests_id_seq TO sg_writer;
GRANT SELECT, INSERT ON gdpr_audit_log TO sg_writer;
GRANT USAGE ON SEQUENCE gdpr_audit_log_id_seq TO sg_writer;
-- Analytics may see outcomes and timings, not the pending e-mails.
GRANT SELECT (id, email_sha256, requested_at, processed_at, status, user_id, error,
              notice_sent_at)
    ON privacy_requests TO sg_analytics;
GRANT SELECT ON gdpr_audit_log TO sg_analytics;
