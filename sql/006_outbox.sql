-- 006: the transactional outbox, shared by every "do it after commit, at
-- least once, never lose it" (common/sg_outbox.c): a row is inserted in
-- the same transaction as its cause, so it exists exactly when the cause
-- was committed; a sender leases rows (several instances may run), sends
-- them, then marks them sent, or releases them with the error for a later
-- attempt. A crash between sending and marking sends again: receivers
-- dedupe on the row's id (the idempotency key). Payloads hold ids and
-- counts, never personal data.
--
-- The first channel is sg-gdpr's erasure notices, which until now were
-- leased through privacy_requests.notice_attempt_at (005; that column is
-- no longer written). privacy_requests.notice_sent_at keeps its meaning:
-- set once every notice of the request is sent.

CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    channel      text NOT NULL,          -- e.g. 'erasure_notice'
    msg_key      text,                   -- the message key (a user id, a subject)
    payload      text NOT NULL,          -- the message itself (JSON), no PII
    ref_id       bigint,                 -- the cause (a privacy request's id, ...)
    created_at   timestamptz NOT NULL DEFAULT now(),
    leased_until timestamptz,            -- a sender holds the row until then
    attempts     integer NOT NULL DEFAULT 0,
    sent_at      timestamptz,
    last_error   text                    -- of the last failed attempt: a reason code, no data
);
CREATE INDEX outbox_unsent ON outbox (channel, id) WHERE sent_at IS NULL;
CREATE INDEX outbox_ref ON outbox (channel, ref_id);

GRANT SELECT, INSERT, UPDATE ON outbox TO sg_writer;
GRANT USAGE ON SEQUENCE outbox_id_seq TO sg_writer;
GRANT SELECT ON outbox TO sg_analytics;

-- An erasure notice, the message published on privacy_erasures (key =
-- user_id): {"user_id":"<uuid>","request_id":<n>,"erased_at":"<RFC 3339
-- UTC, microseconds>"}. Ids and a time only.
CREATE FUNCTION erasure_notice_payload(p_user uuid, p_request bigint,
                                       p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '{"user_id":"' || p_user::text || '","request_id":' || p_request::text
           || ',"erased_at":"'
           || to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
           || '"}'
$$;

-- A request's notice_sent_at: once its last erasure notice is sent.
CREATE FUNCTION outbox_erasure_notice_sent() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE privacy_requests r SET notice_sent_at = NEW.sent_at
     WHERE r.id = NEW.ref_id AND r.notice_sent_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM outbox o
                        WHERE o.channel = 'erasure_notice'
                          AND o.ref_id = NEW.ref_id AND o.sent_at IS NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_erasure_notice_sent
    AFTER UPDATE OF sent_at ON outbox FOR EACH ROW
    WHEN (NEW.channel = 'erasure_notice' AND NEW.sent_at IS NOT NULL
          AND OLD.sent_at IS NULL)
    EXECUTE FUNCTION outbox_erasure_notice_sent();

-- The notices still unsent when this migration runs move to the outbox:
-- one per user the request erased (the audit trail names them).
INSERT INTO outbox (channel, msg_key, payload, ref_id)
SELECT 'erasure_notice', a.user_id::text,
       erasure_notice_payload(a.user_id, r.id, r.processed_at), r.id
  FROM privacy_requests r
  JOIN gdpr_audit_log a ON a.request_id = r.id AND a.action = 'anonymize_user'
 WHERE r.status = 'anonymized' AND r.notice_sent_at IS NULL
 ORDER BY r.id, a.user_id;

COMMENT ON COLUMN privacy_requests.notice_attempt_at IS
    'no longer written since 006: the outbox table leases erasure notices';
