-- 008: sg-compliance (docs/compliance.md). Flags, the risk-level counts and
-- the late counts are the product; the rest is the rule engine's state,
-- committed in the transaction that also stores the consumer group's
-- offsets, so that a crash, a restart or a rebalance resumes exactly where
-- the last commit left off. No PII: subjects are user ids, content ids
-- and country codes; evidence holds codes, truncated IP prefixes, amounts
-- and counts.

CREATE FUNCTION sg_severity_rank(text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE $1 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 END
$$;

CREATE TABLE compliance_flags (
    flag_id         uuid PRIMARY KEY,      -- from rule, subject and period
    rule            text NOT NULL,
    rule_version    text NOT NULL,         -- hash of the rule's parameters
    severity        text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    subject_type    text NOT NULL CHECK (subject_type IN ('user', 'content', 'country')),
    subject_id      text NOT NULL,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,  -- inclusive
    first_event_id  uuid,                  -- NULL: a window without events
    first_event_at  timestamptz,           -- its event_timestamp
    last_event_id   uuid,
    event_count     bigint NOT NULL,
    observed        double precision NOT NULL,
    threshold       double precision NOT NULL,
    evidence        jsonb NOT NULL,
    kafka_topic     text,                  -- where first_event_id is
    kafka_partition integer,
    kafka_offset    bigint,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 70);  -- room for HOT updates: flags are extended often
CREATE INDEX compliance_flags_rule ON compliance_flags (rule, window_start);
CREATE INDEX compliance_flags_subject ON compliance_flags (subject_type, subject_id);

-- sg-batch-compliance's recomputation, diffed by sg-compare --compliance.
CREATE TABLE compliance_flags_batch (LIKE compliance_flags INCLUDING ALL)
    WITH (fillfactor = 70);

-- Each event's risk level (the sum of the weights of the rules it
-- triggered), counted per UTC day and country.
CREATE TABLE compliance_daily (
    event_date date NOT NULL,
    country    text NOT NULL,
    risk_level text NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
    events     bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, country, risk_level)
);

-- Late events (docs/compliance.md, "Time, order and lateness"), per day
-- of their event time and partition; partition -1: counted for a window
-- already closed.
CREATE TABLE compliance_late (
    event_date      date NOT NULL,
    kafka_partition integer NOT NULL,
    events          bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, kafka_partition)
);

-- The engine's state. Per partition: the highest event time seen.
CREATE TABLE compliance_partitions (
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    max_ts_us       bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, kafka_partition)
);

-- Per user: the recent events the windows need, and the current flags'
-- periods (a binary the engine writes and reads: compliance/rules.c).
CREATE TABLE compliance_user_state (
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    user_id         uuid NOT NULL,
    max_ts_us       bigint NOT NULL,
    state           bytea NOT NULL,
    PRIMARY KEY (topic, kafka_partition, user_id)
) WITH (fillfactor = 70);  -- rewritten at every batch that touches the user

-- Cross-partition windows (content_error_rate, traffic_anomaly): the sum
-- of every partition's counts, closed once the watermark passes the end.
CREATE TABLE compliance_windows (
    rule            text NOT NULL,
    subject         text NOT NULL,
    window_start_us bigint NOT NULL,
    window_end_us   bigint NOT NULL,
    a               bigint NOT NULL,       -- plays | events
    b               bigint NOT NULL,       -- playback errors | 0
    first_ts_us     bigint,
    first_event_id  uuid,
    first_partition integer,
    first_offset    bigint,
    last_ts_us      bigint,
    last_event_id   uuid,
    closed          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (rule, subject, window_start_us)
);
CREATE INDEX compliance_windows_open ON compliance_windows (window_end_us)
    WHERE NOT closed;

-- traffic_anomaly's baseline per country.
CREATE TABLE compliance_baselines (
    country       text PRIMARY KEY,
    mean          double precision NOT NULL,
    var           double precision NOT NULL,
    n             bigint NOT NULL,
    next_start_us bigint NOT NULL
);

GRANT SELECT, INSERT, UPDATE ON compliance_flags, compliance_daily,
    compliance_late, compliance_partitions, compliance_windows,
    compliance_baselines TO sg_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON compliance_user_state, compliance_flags_batch
    TO sg_writer;
GRANT SELECT ON compliance_flags, compliance_flags_batch, compliance_daily,
    compliance_late TO sg_analytics;
