-- 017: what sg-compliance needs to read users' erasures cheaply.
--
-- erased_user_activity compares an event's time with its user's erasure
-- (the earliest processed_at of the user's 'anonymized' requests). Until
-- now every batch asked for the erasures of all its users, scanning
-- privacy_requests (no index on user_id) with thousands of ids each time.
--
-- 1. An index on the erased users, for that lookup.
-- 2. A version of "the erasures", bumped in the transaction of every
--    change that could alter the answer (a request becoming anonymized or
--    ceasing to be, a change of an anonymized request's user or time, a
--    delete, a truncate). sg-compliance keeps the answers it has read and
--    throws them all away when the version it reads has moved: what it
--    knows is then exactly what it would read again, and it asks only
--    about users it has not asked about since the last erasure.
CREATE INDEX privacy_requests_anonymized_user ON privacy_requests (user_id)
    WHERE status = 'anonymized';

CREATE TABLE privacy_erasures_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),  -- one row
    version bigint NOT NULL
);
INSERT INTO privacy_erasures_version (version) VALUES (0);
GRANT SELECT ON privacy_erasures_version TO sg_writer;

-- Whoever changes privacy_requests (sg-gdpr, sg-api, an operator's INSERT)
-- bumps the version without holding a privilege on it.
CREATE FUNCTION privacy_erasures_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    UPDATE privacy_erasures_version SET version = version + 1;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION privacy_erasures_bump() FROM PUBLIC;

CREATE TRIGGER privacy_requests_erasures_insert AFTER INSERT ON privacy_requests
    FOR EACH ROW WHEN (NEW.status = 'anonymized')
    EXECUTE FUNCTION privacy_erasures_bump();
CREATE TRIGGER privacy_requests_erasures_update
    AFTER UPDATE OF status, processed_at, user_id ON privacy_requests
    FOR EACH ROW WHEN ((OLD.status = 'anonymized' OR NEW.status = 'anonymized')
                       AND (OLD.status, OLD.processed_at, OLD.user_id)
                           IS DISTINCT FROM (NEW.status, NEW.processed_at, NEW.user_id))
    EXECUTE FUNCTION privacy_erasures_bump();
CREATE TRIGGER privacy_requests_erasures_delete AFTER DELETE ON privacy_requests
    FOR EACH ROW WHEN (OLD.status = 'anonymized')
    EXECUTE FUNCTION privacy_erasures_bump();
CREATE TRIGGER privacy_requests_erasures_truncate AFTER TRUNCATE ON privacy_requests
    FOR EACH STATEMENT EXECUTE FUNCTION privacy_erasures_bump();
