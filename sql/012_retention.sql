-- 012: retention (issue 15). events_raw and events_rejected become
-- partitioned by month, converted in place, in this migration's one
-- transaction: the old table is renamed, a partitioned parent with the
-- same columns, defaults, constraints, comments and grants takes its
-- name, the monthly partitions the rows need (and the months around now)
-- plus a DEFAULT partition are created, the rows are moved, the indexes
-- are recreated and the old table is dropped. docs/retention.md says why
-- each choice was made.
--
-- Partition keys:
--  - events_raw: event_date, the UTC date of the event's own time (what
--    the batch, the reports and the retention period are about; every
--    reader filters on it, so they read only the months they need).
--  - events_rejected: rejected_at, when sg-raw-store stored the dead
--    letter. A dead letter has no trustworthy event time (its JSON may not
--    parse, its timestamp may be the broken field), and what the 30-day
--    period limits is how long we keep a message we could not use.
--
-- Unique indexes of a partitioned table must contain the partition key,
-- so event_id alone can no longer be unique on events_raw. event_ids is
-- the registry that keeps it unique across months: one row per stored
-- event, written in the same transaction as the event (sg-raw-store's
-- COPY, consumers/raw_store.c), its primary key the duplicate check.

SET LOCAL timezone = 'UTC';

-- A range bound as PostgreSQL prints it ('2026-01-01' for a date key,
-- '2026-01-01 00:00:00+00' for a timestamptz key) as its UTC date.
CREATE FUNCTION sg_bound_date(bound text) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN bound ~ '^\d{4}-\d{2}-\d{2}$' THEN bound::date
                ELSE (bound::timestamptz AT TIME ZONE 'UTC')::date END
$$;

-- Partitions by parent, with their bounds as UTC dates (NULL for the
-- DEFAULT partition): what sg-retention plans from.
CREATE VIEW retention_partitions AS
SELECT p.relname::text AS parent, c.relname::text AS partition,
       pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
       sg_bound_date(substring(pg_get_expr(c.relpartbound, c.oid)
                               FROM 'FROM \(''([^'']*)''\)')) AS range_from,
       sg_bound_date(substring(pg_get_expr(c.relpartbound, c.oid)
                               FROM 'TO \(''([^'']*)''\)')) AS range_to
  FROM pg_inherits i
  JOIN pg_class p ON p.oid = i.inhparent
  JOIN pg_class c ON c.oid = i.inhrelid
 WHERE p.relkind = 'p' AND p.relnamespace = 'public'::regnamespace;

-- Grants the parent's table privileges to the same roles on a partition,
-- so that reading or writing a partition directly is allowed to exactly
-- those who may do it through the parent. (Not ALTER DEFAULT PRIVILEGES:
-- that would give sg_analytics every future table of sg_owner, personal
-- data included.)
CREATE FUNCTION sg_partition_grant(parent regclass, part regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT pg_get_userbyid(a.grantee) AS grantee,
                    string_agg(a.privilege_type, ', ') AS privs
               FROM pg_class c, aclexplode(c.relacl) a
              WHERE c.oid = parent AND a.grantee <> c.relowner AND a.grantee <> 0
              GROUP BY a.grantee LOOP
        EXECUTE format('GRANT %s ON %s TO %I', g.privs, part, g.grantee);
    END LOOP;
END
$$;

-- Creates partition name of parent for [range_from, range_to) (UTC dates;
-- for a timestamptz key, UTC midnights), moving the rows of that range
-- out of the parent's DEFAULT partition first (a partition cannot be
-- added while DEFAULT holds rows of its range). Returns the rows moved,
-- or NULL when the partition already exists (nothing done). The new
-- table is attached (ATTACH PARTITION: a SHARE UPDATE EXCLUSIVE lock on
-- the parent, so writers keep going) rather than created as a partition
-- (ACCESS EXCLUSIVE on the parent).
CREATE FUNCTION sg_partition_create(parent regclass, name text,
                                    range_from date, range_to date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    keycol text;
    keytype regtype;
    lo text;
    hi text;
    def regclass;
    moved bigint := 0;
BEGIN
    IF to_regclass(format('%I', name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    SELECT a.attname, a.atttypid::regtype INTO keycol, keytype
      FROM pg_partitioned_table t
      JOIN pg_attribute a ON a.attrelid = t.partrelid AND a.attnum = t.partattrs[0]
     WHERE t.partrelid = parent;
    IF keycol IS NULL THEN
        RAISE EXCEPTION '% is not partitioned by a column', parent;
    END IF;
    IF keytype = 'date'::regtype THEN
        lo := range_from::text;
        hi := range_to::text;
    ELSE
        lo := (range_from::timestamp AT TIME ZONE 'UTC')::text;
        hi := (range_to::timestamp AT TIME ZONE 'UTC')::text;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMMENTS)', name, parent);
    SELECT c.oid INTO def FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF def IS NOT NULL THEN
        -- ATTACH needs this lock anyway (to check DEFAULT holds no row of
        -- the range); taken first, no writer can add such a row between
        -- the move and the check.
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', def);
        EXECUTE format('WITH m AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) '
                       'INSERT INTO %I SELECT * FROM m',
                       def, keycol, lo, keycol, hi, name);
        GET DIAGNOSTICS moved = ROW_COUNT;
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   parent, name, lo, hi);
    PERFORM sg_partition_grant(parent, format('%I', name)::regclass);
    RETURN moved;
END
$$;

-- Rows of each month held by parent's DEFAULT partition (a month without
-- a partition): what sg-retention reports, then moves.
CREATE FUNCTION sg_partition_default_months(parent regclass)
RETURNS TABLE (month date, rows bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    keycol text;
    keytype regtype;
    def regclass;
BEGIN
    SELECT a.attname, a.atttypid::regtype INTO keycol, keytype
      FROM pg_partitioned_table t
      JOIN pg_attribute a ON a.attrelid = t.partrelid AND a.attnum = t.partattrs[0]
     WHERE t.partrelid = parent;
    SELECT c.oid INTO def FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';
    IF def IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT date_trunc(''month'', %s)::date, count(*) FROM %s GROUP BY 1 ORDER BY 1',
        CASE WHEN keytype = 'date'::regtype THEN format('%I', keycol)
             ELSE format('%I AT TIME ZONE ''UTC''', keycol) END, def);
END
$$;

-- The rows of one table (a partition), for reports and dry runs.
CREATE FUNCTION sg_partition_rows(part regclass) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', part) INTO n;
    RETURN n;
END
$$;

-- Drops one partition (never a DEFAULT one) and returns the rows it
-- held. DROP TABLE locks the parent before the partition, as writers do.
CREATE FUNCTION sg_partition_drop(part regclass) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = part AND relispartition)
       OR pg_get_expr((SELECT relpartbound FROM pg_class WHERE oid = part), part) = 'DEFAULT' THEN
        RAISE EXCEPTION '% is not a monthly partition', part;
    END IF;
    n := sg_partition_rows(part);
    EXECUTE format('DROP TABLE %s', part);
    RETURN n;
END
$$;

-- ---------------------------------------------------------------------
-- events_raw

ALTER TABLE events_raw RENAME TO events_raw_old;
ALTER INDEX events_raw_pkey RENAME TO events_raw_old_pkey;
ALTER INDEX events_raw_date_type RENAME TO events_raw_old_date_type;
ALTER INDEX events_raw_user RENAME TO events_raw_old_user;

CREATE TABLE events_raw (LIKE events_raw_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS
                         INCLUDING STORAGE INCLUDING COMMENTS)
    PARTITION BY RANGE (event_date);
-- The primary key must hold the partition key; event_id's uniqueness
-- across months is event_ids' (below). It also serves lookups by event_id.
ALTER TABLE events_raw ADD PRIMARY KEY (event_id, event_date);
CREATE INDEX events_raw_date_type ON events_raw (event_date, event_type);
CREATE INDEX events_raw_user ON events_raw (user_id);
CREATE TABLE events_raw_default PARTITION OF events_raw DEFAULT;

CREATE TABLE event_ids (
    event_id   uuid PRIMARY KEY,
    event_date date NOT NULL   -- the stored event's (its partition)
);
COMMENT ON TABLE event_ids IS
    'One row per events_raw row: event_id unique across monthly partitions';

-- ---------------------------------------------------------------------
-- events_rejected

ALTER TABLE events_rejected RENAME TO events_rejected_old;
ALTER INDEX events_rejected_pkey RENAME TO events_rejected_old_pkey;
ALTER INDEX events_rejected_reason RENAME TO events_rejected_old_reason;
ALTER INDEX events_rejected_position RENAME TO events_rejected_old_position;

CREATE TABLE events_rejected (LIKE events_rejected_old INCLUDING DEFAULTS
                              INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)
    PARTITION BY RANGE (rejected_at);
-- The id sequence outlives the old table: ids go on where they were.
ALTER SEQUENCE events_rejected_id_seq OWNED BY events_rejected.id;
ALTER TABLE events_rejected ADD PRIMARY KEY (id, rejected_at);
CREATE INDEX events_rejected_reason ON events_rejected (reason);
CREATE INDEX events_rejected_position ON events_rejected (kafka_topic, kafka_partition, kafka_offset);
CREATE TABLE events_rejected_default PARTITION OF events_rejected DEFAULT;

-- Same grants as before, on the parents, the registry and the defaults.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN VALUES ('events_raw_old', 'events_raw'),
                    ('events_rejected_old', 'events_rejected') LOOP
        PERFORM sg_partition_grant(t.column1::regclass, t.column2::regclass);
        PERFORM sg_partition_grant(t.column1::regclass, (t.column2 || '_default')::regclass);
    END LOOP;
    PERFORM sg_partition_grant('events_raw_old', 'event_ids');
END
$$;

-- The months the rows need, and the previous, current and next two
-- months (the consumers' near future; sg-retention keeps creating them).
SELECT sg_partition_create('events_raw', 'events_raw_' || to_char(m, 'YYYY_MM'),
                           m, (m + interval '1 month')::date)
  FROM (SELECT DISTINCT date_trunc('month', event_date)::date AS m FROM events_raw_old
        UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + k * interval '1 month')::date
                FROM generate_series(-1, 2) AS k) AS months
 ORDER BY m;
SELECT sg_partition_create('events_rejected', 'events_rejected_' || to_char(m, 'YYYY_MM'),
                           m, (m + interval '1 month')::date)
  FROM (SELECT DISTINCT date_trunc('month', rejected_at AT TIME ZONE 'UTC')::date AS m
          FROM events_rejected_old
        UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + k * interval '1 month')::date
                FROM generate_series(-1, 2) AS k) AS months
 ORDER BY m;

INSERT INTO events_raw SELECT * FROM events_raw_old;
INSERT INTO event_ids (event_id, event_date) SELECT event_id, event_date FROM events_raw_old;
INSERT INTO events_rejected SELECT * FROM events_rejected_old;

DROP TABLE events_raw_old;
DROP TABLE events_rejected_old;

-- ---------------------------------------------------------------------
-- What sg-retention did (and, with dry_run, would have done).

CREATE TABLE retention_log (
    id         bigserial PRIMARY KEY,
    acted_at   timestamptz NOT NULL DEFAULT now(),
    action     text NOT NULL CHECK (action IN ('create', 'drop', 'default_rows',
                                               'forget_ids')),
    table_name text NOT NULL,
    partition  text,
    range_from date,
    range_to   date,
    rows       bigint NOT NULL,
    dry_run    boolean NOT NULL
);
COMMENT ON TABLE retention_log IS
    'sg-retention''s actions: create (rows moved out of DEFAULT), drop (rows dropped), '
    'default_rows (rows found in a DEFAULT partition), forget_ids (event_ids rows removed)';

GRANT SELECT ON retention_log, retention_partitions TO sg_analytics;
