-- 010: sg-compliance keeps the rules' state in memory and snapshots it per
-- partition (docs/compliance.md, "State, snapshots and replay"): one row
-- per partition instead of one per user rewritten at every batch. A
-- snapshot stands at next_offset: restoring it and replaying the
-- partition from there up to the group's stored offset gives back the
-- state exactly. No PII: the state holds user ids, event-id hashes,
-- times, country codes, truncated IP prefixes and amounts.
--
-- The per-user rows of 008 are dropped: a partition without a snapshot
-- starts with an empty state at the group's offset (said in the log), so
-- windows that spanned the upgrade restart from it.

DROP TABLE compliance_user_state;

CREATE TABLE compliance_snapshots (
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset     bigint NOT NULL,   -- the state after the events below it
    max_ts_us       bigint NOT NULL,   -- the partition's highest event time
    users           bigint NOT NULL,
    state           bytea NOT NULL,    -- compliance/rules.c, sg_rules_part_dump
    taken_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);
ALTER TABLE compliance_snapshots ALTER COLUMN state SET STORAGE EXTERNAL;

GRANT SELECT, INSERT, UPDATE, DELETE ON compliance_snapshots TO sg_writer;
