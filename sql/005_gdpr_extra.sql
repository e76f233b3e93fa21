-- 005: what sg-gdpr needs beyond 003 (004 is another issue's).
--
-- 1. A lease on the erasure-notice outbox. Several sg-gdpr instances sweep
--    the outbox (anonymized requests whose notice_sent_at is NULL); without
--    a lease each would publish the same backlog after a Kafka outage. An
--    instance sets notice_attempt_at when it queues a request's notices
--    (in the erasure transaction itself for the notices it sends right
--    after commit); others leave the row alone until the lease expires
--    (longer than the producer's message timeout, so a crashed instance's
--    notices are sent by someone else). A failed delivery clears it at
--    once. Notices stay at-least-once: the follow-up UPDATE that sets
--    notice_sent_at can itself be lost.
ALTER TABLE privacy_requests ADD COLUMN notice_attempt_at timestamptz;
GRANT SELECT (notice_attempt_at) ON privacy_requests TO sg_analytics;

-- 2. "Already anonymized": once a user is erased, the e-mail is gone from
--    users_pii and from the request; a later request for the same address
--    is recognised by the hash kept on the earlier one.
CREATE INDEX privacy_requests_email_sha256 ON privacy_requests (email_sha256)
    WHERE status IN ('anonymized', 'already_anonymized');

-- 3. The outbox reads a request's erased users from the audit trail (one
--    request may match several users whose e-mails differ only in case or
--    padding); reports look audit rows up by request too.
CREATE INDEX gdpr_audit_log_request ON gdpr_audit_log (request_id);
