-- 007: batch vs streaming, one definition. Each view pairs a batch table
-- with its streaming twin on the key (a row on one side only is kept,
-- with the other side NULL) and says whether the pair differs: a side is
-- missing, or a value IS DISTINCT FROM its twin. The delta is streaming
-- minus batch, a missing side counting as 0. sg-compare and sg-report
-- both read these views, so they cannot disagree on what "differs"
-- means.
--
-- The keys come from a UNION of both sides rather than a FULL JOIN, so
-- that a filter on the key (event_date BETWEEN ...) reaches both tables'
-- primary-key indexes.

CREATE VIEW metrics_compare_daily AS
SELECT k.event_date, k.event_type,
       b.event_date IS NOT NULL AS in_batch,
       s.event_date IS NOT NULL AS in_streaming,
       b.total_events AS batch_events, s.total_events AS streaming_events,
       b.total_amount AS batch_amount, s.total_amount AS streaming_amount,
       coalesce(s.total_events, 0) - coalesce(b.total_events, 0) AS events_delta,
       coalesce(s.total_amount, 0) - coalesce(b.total_amount, 0) AS amount_delta,
       (b.event_date IS NULL OR s.event_date IS NULL
        OR b.total_events IS DISTINCT FROM s.total_events
        OR b.total_amount IS DISTINCT FROM s.total_amount) AS differs
  FROM (SELECT event_date, event_type FROM metrics_batch_daily
        UNION SELECT event_date, event_type FROM metrics_streaming_daily) AS k
  LEFT JOIN metrics_batch_daily b
         ON b.event_date = k.event_date AND b.event_type = k.event_type
  LEFT JOIN metrics_streaming_daily s
         ON s.event_date = k.event_date AND s.event_type = k.event_type;

CREATE VIEW metrics_compare_country_daily AS
SELECT k.event_date, k.country, k.event_type,
       b.event_date IS NOT NULL AS in_batch,
       s.event_date IS NOT NULL AS in_streaming,
       b.total_events AS batch_events, s.total_events AS streaming_events,
       b.total_amount AS batch_amount, s.total_amount AS streaming_amount,
       coalesce(s.total_events, 0) - coalesce(b.total_events, 0) AS events_delta,
       coalesce(s.total_amount, 0) - coalesce(b.total_amount, 0) AS amount_delta,
       (b.event_date IS NULL OR s.event_date IS NULL
        OR b.total_events IS DISTINCT FROM s.total_events
        OR b.total_amount IS DISTINCT FROM s.total_amount) AS differs
  FROM (SELECT event_date, country, event_type FROM metrics_batch_country_daily
        UNION SELECT event_date, country, event_type FROM metrics_streaming_country_daily) AS k
  LEFT JOIN metrics_batch_country_daily b
         ON b.event_date = k.event_date AND b.country = k.country
        AND b.event_type = k.event_type
  LEFT JOIN metrics_streaming_country_daily s
         ON s.event_date = k.event_date AND s.country = k.country
        AND s.event_type = k.event_type;

CREATE VIEW metrics_compare_content_daily AS
SELECT k.event_date, k.content_id,
       b.event_date IS NOT NULL AS in_batch,
       s.event_date IS NOT NULL AS in_streaming,
       b.plays AS batch_plays, s.plays AS streaming_plays,
       b.playback_errors AS batch_errors, s.playback_errors AS streaming_errors,
       b.watch_seconds AS batch_watch, s.watch_seconds AS streaming_watch,
       coalesce(s.plays, 0) - coalesce(b.plays, 0) AS plays_delta,
       coalesce(s.playback_errors, 0) - coalesce(b.playback_errors, 0) AS errors_delta,
       coalesce(s.watch_seconds, 0) - coalesce(b.watch_seconds, 0) AS watch_delta,
       (b.event_date IS NULL OR s.event_date IS NULL
        OR b.plays IS DISTINCT FROM s.plays
        OR b.playback_errors IS DISTINCT FROM s.playback_errors
        OR b.watch_seconds IS DISTINCT FROM s.watch_seconds) AS differs
  FROM (SELECT event_date, content_id FROM metrics_batch_content_daily
        UNION SELECT event_date, content_id FROM metrics_streaming_content_daily) AS k
  LEFT JOIN metrics_batch_content_daily b
         ON b.event_date = k.event_date AND b.content_id = k.content_id
  LEFT JOIN metrics_streaming_content_daily s
         ON s.event_date = k.event_date AND s.content_id = k.content_id;

GRANT SELECT ON metrics_compare_daily, metrics_compare_country_daily,
    metrics_compare_content_daily TO sg_writer, sg_analytics;
