-- 018: an outbox row may carry several messages.
--
-- sg-compliance publishes every new or escalated flag through the outbox
-- (006). One row per flag meant, per flag, an insert with three index
-- entries, a lease (a locked and rewritten row), a sent mark (rewritten
-- again) and a delete at retention: about as much of the server's work as
-- storing the flag itself. Now the flags of a part of a batch go in one
-- row (at most 500 messages; common/sg_outbox.c, sg_outbox_add_many).
--
-- messages = 1: as before, msg_key and payload are the message.
-- messages > 1: msg_key is NULL and payload holds that many lines, each
-- "<key> TAB <value>" and a newline (neither a key nor a value holds a tab
-- or a newline: anything else goes in a row of its own). The sender sends
-- each line as a message and marks the row sent once all of them are
-- delivered; if any fails, the row is released and all of them are sent
-- again later (at least once, as before: receivers dedupe on the flag's
-- id).
ALTER TABLE outbox ADD COLUMN messages integer NOT NULL DEFAULT 1
    CHECK (messages >= 1);
COMMENT ON COLUMN outbox.messages IS
    'messages in the row: >1 means payload is that many "key<TAB>value" lines (sql/018)';

-- Such rows are tens of kilobytes: lz4 compresses them at several times
-- pglz's speed (a 50,000-event batch's outbox rows: 111 -> 47 ms to insert,
-- about half to read back). Where the server was built without lz4, the
-- default stays.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available: outbox payloads stay pglz-compressed';
END $$;
