-- 002: daily metrics, computed two ways (Lambda): streaming (sg-stream-metrics,
-- exactly once with its offsets in stream_offsets) and batch (sg-batch-metrics,
-- recomputed from events_raw). sg-compare diffs them. event_date is the UTC
-- date of event_timestamp; amounts are exact (NUMERIC, room for billions).

CREATE TABLE metrics_streaming_daily (
    event_date   date NOT NULL,
    event_type   text NOT NULL,
    total_events bigint NOT NULL,
    total_amount numeric(20, 2) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, event_type)
);

CREATE TABLE metrics_streaming_country_daily (
    event_date   date NOT NULL,
    country      text NOT NULL,
    event_type   text NOT NULL,
    total_events bigint NOT NULL,
    total_amount numeric(20, 2) NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, country, event_type)
);

-- Playback health: plays = 'play' events, playback_errors =
-- 'playback_error' events, watch_seconds = sum over 'stop' events.
CREATE TABLE metrics_streaming_content_daily (
    event_date      date NOT NULL,
    content_id      text NOT NULL,
    plays           bigint NOT NULL,
    playback_errors bigint NOT NULL,
    watch_seconds   bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_date, content_id)
);

CREATE TABLE metrics_batch_daily (LIKE metrics_streaming_daily INCLUDING ALL);
CREATE TABLE metrics_batch_country_daily (LIKE metrics_streaming_country_daily INCLUDING ALL);
CREATE TABLE metrics_batch_content_daily (LIKE metrics_streaming_content_daily INCLUDING ALL);

-- One row per sg-batch-metrics run: which dates it recomputed, and when.
CREATE TABLE metrics_batch_runs (
    id          bigserial PRIMARY KEY,
    date_from   date NOT NULL,
    date_to     date NOT NULL,
    events      bigint NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE ON metrics_streaming_daily, metrics_streaming_country_daily,
    metrics_streaming_content_daily TO sg_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON metrics_batch_daily, metrics_batch_country_daily,
    metrics_batch_content_daily TO sg_writer;
GRANT SELECT, INSERT ON metrics_batch_runs TO sg_writer;
GRANT USAGE ON SEQUENCE metrics_batch_runs_id_seq TO sg_writer;
GRANT SELECT ON metrics_streaming_daily, metrics_streaming_country_daily,
    metrics_streaming_content_daily, metrics_batch_daily, metrics_batch_country_daily,
    metrics_batch_content_daily, metrics_batch_runs TO sg_analytics;
