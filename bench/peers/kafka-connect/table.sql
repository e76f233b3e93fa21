-- The Kafka Connect peer's table: events_raw's columns, types and defaults
-- (sql/001_core.sql, copied with LIKE), changed only where the Debezium
-- JDBC sink cannot fill them. Run by run.sh as the
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
CREATE TABLE :"tbl" (LIKE events_raw INCLUDING DEFAULTS);
ALTER TABLE :"tbl"
    ALTER COLUMN is_eu DROP NOT NULL,
    ALTER COLUMN metadata TYPE hstore USING NULL,
    DROP COLUMN event_date;
\if :strict
-- events_raw's event_date is written by sg-raw-store; here it is derived.
ALTER TABLE :"tbl" ADD COLUMN event_date date
    GENERATED ALWAYS AS ((event_timestamp AT TIME ZONE 'UTC')::date) STORED;
\else
ALTER TABLE :"tbl"
    ALTER COLUMN event_id TYPE text,
    ALTER COLUMN user_id TYPE text,
    ALTER COLUMN event_timestamp TYPE text,
    ALTER COLUMN currency TYPE text,
    ADD COLUMN event_date date;
\endif
\if :pk
ALTER TABLE :"tbl" ADD PRIMARY KEY (event_id);
\else
CREATE INDEX ON :"tbl" (event_id);
\endif
-- The same secondary indexes as events_raw: the same write cost.
CREATE INDEX ON :"tbl" (event_date, event_type);
CREATE INDEX ON :"tbl" (user_id);
