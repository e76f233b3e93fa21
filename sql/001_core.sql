-- 001: core streaming path. Applied by sg-migrate as the owner role, in one
-- transaction. Roles sg_writer and sg_analytics are created by the setup
-- script (cluster-wide objects, not part of a database's migrations).

-- Personal data lives here and nowhere else. PII columns are nullable so
-- that erasure can clear them.
CREATE TABLE users_pii (
    user_id        uuid PRIMARY KEY,
    email          text UNIQUE,
    first_name     text,
    last_name      text,
    street_address text,
    city           text,
    postal_code    text,
    country        text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    anonymized_at  timestamptz
);

-- What analytics may know about a user: no PII.
CREATE TABLE users_public (
    user_id     uuid PRIMARY KEY,
    country     text NOT NULL,
    signup_date date NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events_raw (
    event_id        uuid PRIMARY KEY,
    user_id         uuid NOT NULL,
    event_type      text NOT NULL CHECK (event_type IN ('page_view', 'add_to_cart',
                        'purchase', 'play', 'pause', 'seek', 'stop', 'playback_error')),
    event_timestamp timestamptz NOT NULL,
    event_date      date NOT NULL,          -- UTC date of event_timestamp
    country         text NOT NULL,
    is_eu           boolean NOT NULL,
    amount          numeric(12, 2) NOT NULL DEFAULT 0,
    currency        char(3) NOT NULL DEFAULT 'EUR',
    has_consent     boolean NOT NULL DEFAULT false,
    do_not_track    boolean NOT NULL DEFAULT false,
    device_id       text,
    content_id      text,
    watch_seconds   integer,
    error_code      text,
    ip_truncated    inet,                   -- /24 (IPv4) or /48 (IPv6), never as sent
    metadata        jsonb,                  -- e-mail-like strings redacted
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (event_date = (event_timestamp AT TIME ZONE 'UTC')::date)
);
CREATE INDEX events_raw_date_type ON events_raw (event_date, event_type);
CREATE INDEX events_raw_user ON events_raw (user_id);

-- Dead-letter store: every message that breaks the contract, with why.
CREATE TABLE events_rejected (
    id              bigserial PRIMARY KEY,
    consumer_group  text NOT NULL,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    reason          text NOT NULL CHECK (reason IN ('too_large', 'invalid_utf8',
                        'malformed_json', 'not_object', 'duplicate_key', 'missing_field',
                        'wrong_type', 'invalid_value', 'unknown_field', 'inconsistent')),
    message         text NOT NULL,
    payload         text,                   -- truncated to 8 KiB, e-mails redacted
    payload_bytes   integer NOT NULL,       -- size as received
    rejected_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_rejected_reason ON events_rejected (reason);
CREATE INDEX events_rejected_position ON events_rejected (kafka_topic, kafka_partition, kafka_offset);

-- Valid messages whose event_id was already stored: counted, not errors.
CREATE TABLE events_duplicates (
    id              bigserial PRIMARY KEY,
    consumer_group  text NOT NULL,
    event_id        uuid NOT NULL,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    seen_at         timestamptz NOT NULL DEFAULT now()
);

-- The exactly-once offset store: written in the same transaction as the
-- rows those offsets produced. cluster_id tells offsets of one Kafka
-- cluster (or one sg-broker run) from another's.
CREATE TABLE stream_offsets (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL CHECK (next_offset >= 0),
    cluster_id     text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

-- Offsets a consumer could not read (retention removed them, or the
-- cluster changed under it): recorded, never skipped silently.
CREATE TABLE offset_gaps (
    id             bigserial PRIMARY KEY,
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    reason         text NOT NULL CHECK (reason IN ('retention', 'cluster_changed',
                       'out_of_range')),
    from_offset    bigint NOT NULL,
    to_offset      bigint NOT NULL,
    lost_events    bigint NOT NULL,         -- 0 when unknown (cluster changed)
    cluster_id     text NOT NULL,
    detected_at    timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO sg_writer, sg_analytics;
GRANT SELECT, INSERT, UPDATE ON users_pii, users_public TO sg_writer;
GRANT SELECT, INSERT ON events_raw, events_rejected, events_duplicates, offset_gaps TO sg_writer;
GRANT SELECT, INSERT, UPDATE ON stream_offsets TO sg_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO sg_writer;

-- The analytics role reads everything but personal data.
GRANT SELECT ON users_public, events_raw, events_rejected, events_duplicates,
                stream_offsets, offset_gaps TO sg_analytics;
