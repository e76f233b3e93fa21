-- The Kafka Connect peer's table, shaped like events_raw (sql/001_core.sql)
-- as far as the Debezium JDBC sink can fill it. Run by run.sh as the
-- database owner with psql variables:
--   tbl     table name (identifier)
--   strict  true: events_raw's types (uuid, timestamptz); false: text for
--           the three fields the sink cannot validate (see README.md)
--   pk      true: PRIMARY KEY (event_id), as events_raw; false: a plain
--           index, so that insert mode can show the duplicates it writes
--           (with a primary key, insert mode's replay after a crash hits a
--           unique violation and the task fails for good)
-- Differences from events_raw, and why:
--   * no CHECK constraints: a row that breaks one fails the sink's whole
--     batch and, since Connect replays it, stops the task for good;
--   * is_eu nullable: the sink stores what was sent; nothing derives it
--     from country;
--   * ip_truncated always NULL: ip_address is not in the value schema, so
--     the converter drops it (there is no built-in transform to truncate
--     an address, and the contract forbids storing it as sent);
--   * metadata is hstore, not jsonb: the converter can read a JSON object
--     only as a Connect MAP (string -> string), and the sink's PostgreSQL
--     dialect writes a MAP as cast(? as hstore); hstore_to_jsonb(metadata)
--     gives the jsonb. No e-mail redaction (no built-in transform does it).
\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS hstore;
DROP TABLE IF EXISTS :"tbl";
\if :strict
CREATE TABLE :"tbl" (
    event_id        uuid NOT NULL,
    user_id         uuid NOT NULL,
    event_type      text NOT NULL,
    event_timestamp timestamptz NOT NULL,
    event_date      date GENERATED ALWAYS AS ((event_timestamp AT TIME ZONE 'UTC')::date) STORED,
    country         text NOT NULL,
    is_eu           boolean,
    amount          numeric(12, 2) NOT NULL DEFAULT 0,
    currency        char(3) NOT NULL DEFAULT 'EUR',
    has_consent     boolean NOT NULL DEFAULT false,
    do_not_track    boolean NOT NULL DEFAULT false,
    device_id       text,
    content_id      text,
    watch_seconds   integer,
    error_code      text,
    ip_truncated    inet,
    metadata        hstore,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now()
);
\else
CREATE TABLE :"tbl" (
    event_id        text NOT NULL,
    user_id         text NOT NULL,
    event_type      text NOT NULL,
    event_timestamp text NOT NULL,
    event_date      date,
    country         text NOT NULL,
    is_eu           boolean,
    amount          numeric(12, 2) NOT NULL DEFAULT 0,
    currency        text NOT NULL DEFAULT 'EUR',
    has_consent     boolean NOT NULL DEFAULT false,
    do_not_track    boolean NOT NULL DEFAULT false,
    device_id       text,
    content_id      text,
    watch_seconds   integer,
    error_code      text,
    ip_truncated    inet,
    metadata        hstore,
    kafka_topic     text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    ingested_at     timestamptz NOT NULL DEFAULT now()
);
\endif
\if :pk
ALTER TABLE :"tbl" ADD PRIMARY KEY (event_id);
\else
CREATE INDEX ON :"tbl" (event_id);
\endif
-- The same secondary indexes as events_raw: the same write cost.
CREATE INDEX ON :"tbl" (event_date, event_type);
CREATE INDEX ON :"tbl" (user_id);
