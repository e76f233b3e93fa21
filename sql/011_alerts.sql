-- 011: alerts (sg-alert). An alert is inserted by its cause, in the
-- cause's own transaction (a transactional outbox for alerts): it exists
-- exactly when its cause was committed. sg-alert routes each alert to the
-- sinks of its config (one alert_deliveries row per sink that wants it)
-- and delivers those rows over HTTP, at least once: leased rows, retries
-- with backoff, and after a maximum age the row is 'dead' with its last
-- error. No PII anywhere: ids (pseudonymous user ids, request ids, flag
-- ids), rule names, counts.

CREATE TABLE alerts (
    alert_id     uuid PRIMARY KEY,     -- the Idempotency-Key; derived from the
                                       -- cause, so a cause replayed after a
                                       -- crash inserts nothing new
    source       text NOT NULL CHECK (source IN
                     ('compliance', 'gdpr', 'compare', 'consumer', 'digest', 'test')),
    kind         text NOT NULL,        -- a rule name, request_overdue,
                                       -- request_failed, batch_stream_differ,
                                       -- dead_letter_rate, offset_gap, digest, test
    severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    subject_type text,                 -- user, content, country, privacy_request,
                                       -- consumer_group, date, sink
    subject_id   text,                 -- an id, never PII
    counts       jsonb NOT NULL DEFAULT '{}',
    summary      text NOT NULL,        -- one human line: ids, names, counts
    cause_at     timestamptz NOT NULL DEFAULT now(), -- the cause's transaction
    created_at   timestamptz NOT NULL DEFAULT now(),
    routed_at    timestamptz           -- sg-alert created its deliveries
);
CREATE INDEX alerts_unrouted ON alerts (created_at) WHERE routed_at IS NULL;
CREATE INDEX alerts_created ON alerts (created_at);

-- sg-alert LISTENs on sg_alert: a committed alert wakes it at once (a
-- notification is delivered at commit, once per statement here).
CREATE FUNCTION alerts_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sg_alert', '');
    RETURN NULL;
END $$;
CREATE TRIGGER alerts_notify AFTER INSERT ON alerts
    FOR EACH STATEMENT EXECUTE FUNCTION alerts_notify();

CREATE TABLE alert_deliveries (
    alert_id        uuid NOT NULL REFERENCES alerts ON DELETE CASCADE,
    sink            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sent', 'dead', 'digested')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,       -- an sg-alert instance holds the row
    last_error      text,              -- a reason code (timeout, connect,
                                       -- http_503, ...), never a body
    http_status     integer,           -- of the last attempt
    digest_id       uuid,              -- 'digested': the digest alert that
                                       -- carried it (throttling)
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (sink, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX alert_deliveries_sent ON alert_deliveries (sink, sent_at)
    WHERE status = 'sent';

-- The consumers' dead-letter share, per partition in windows of offsets
-- (window_start = a multiple of the window size): written in the same
-- transaction as the consumer's offsets, so a replay after a crash counts
-- nothing twice, and an alert is raised once per window over the rate.
CREATE TABLE dead_letter_windows (
    consumer_group  text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    window_start    bigint NOT NULL,   -- first offset of the window
    messages        bigint NOT NULL,
    invalid         bigint NOT NULL,
    closed          boolean NOT NULL DEFAULT false, -- the consumer passed its
                                       -- end: its share was judged
    PRIMARY KEY (consumer_group, topic, kafka_partition, window_start)
);

GRANT SELECT, INSERT, UPDATE ON alerts, alert_deliveries, dead_letter_windows
    TO sg_writer;
GRANT DELETE ON alert_deliveries TO sg_writer;
GRANT SELECT ON alerts, alert_deliveries TO sg_analytics;
