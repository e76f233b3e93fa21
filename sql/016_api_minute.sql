-- 016: what sg-api's queries need (docs/api.md, api/queries.c).
--
-- 1. Events per minute of event time, for GET /stats/timeseries. Kept by
--    sg-stream-metrics exactly once like its daily metrics: each flush
--    adds its events per UTC minute in the transaction that stores the
--    group's offsets (consumers/stream_metrics.c). The same statement
--    prunes it: only minutes of the last 7 days (by the database's now())
--    are kept, and events older than that are not added (the answer
--    covers at most the last 1440 minutes).
CREATE TABLE metrics_streaming_minute (
    minute     timestamptz PRIMARY KEY,  -- a whole UTC minute
    events     bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON metrics_streaming_minute TO sg_writer;
GRANT SELECT ON metrics_streaming_minute TO sg_analytics;

-- 2. GET /compliance/flags lists flags newest first (window_start DESC,
--    flag_id DESC) and pages by keyset; the date filters and the lambda
--    verdict of GET /stats/pipeline select a day of window_start. Neither
--    had an index (compliance_flags_rule leads with the rule), so each
--    page sorted the whole table. Read backwards, this one gives a page
--    in index order. flag_id and window_start never change, so the
--    flags' HOT updates (fillfactor 70, sql/008) stay HOT.
CREATE INDEX compliance_flags_window ON compliance_flags (window_start, flag_id);
CREATE INDEX compliance_flags_batch_window ON compliance_flags_batch (window_start);

-- sg-api's role (created by the setup script where the server is set up).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_api') THEN
        GRANT SELECT ON metrics_streaming_minute TO sg_api;
    END IF;
END $$;
