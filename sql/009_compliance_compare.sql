-- 009: sg-compliance's flags, batch vs streaming, one definition (the
-- compliance twin of 007's metrics_compare_* views): sg-batch-compliance's
-- compliance_flags_batch paired with compliance_flags on flag_id (a flag on
-- one side only is kept, with the other side NULL). A pair differs when a
-- side is missing or any column but detected_at and updated_at (wall-clock
-- times of the commits) IS DISTINCT FROM its twin; evidence compares as
-- jsonb (key order and spacing do not count). differing_columns names the
-- columns that differ when both sides hold the flag (NULL when one side is
-- missing: missing_side says which). sg-compare --compliance reads this
-- view.

CREATE VIEW compliance_flags_compare AS
SELECT coalesce(b.flag_id, s.flag_id) AS flag_id,
       coalesce(b.rule, s.rule) AS rule,
       coalesce(b.subject_type, s.subject_type) AS subject_type,
       coalesce(b.subject_id, s.subject_id) AS subject_id,
       coalesce(b.window_start, s.window_start) AS window_start,
       b.flag_id IS NOT NULL AS in_batch,
       s.flag_id IS NOT NULL AS in_streaming,
       CASE WHEN b.flag_id IS NULL THEN 'batch'
            WHEN s.flag_id IS NULL THEN 'streaming' END AS missing_side,
       d.cols AS differing_columns,
       (b.flag_id IS NULL OR s.flag_id IS NULL OR cardinality(d.cols) > 0)
           AS differs,
       b.rule AS batch_rule, s.rule AS streaming_rule,
       b.rule_version AS batch_rule_version,
       s.rule_version AS streaming_rule_version,
       b.severity AS batch_severity, s.severity AS streaming_severity,
       b.subject_type AS batch_subject_type,
       s.subject_type AS streaming_subject_type,
       b.subject_id AS batch_subject_id, s.subject_id AS streaming_subject_id,
       b.window_start AS batch_window_start,
       s.window_start AS streaming_window_start,
       b.window_end AS batch_window_end, s.window_end AS streaming_window_end,
       b.first_event_id AS batch_first_event_id,
       s.first_event_id AS streaming_first_event_id,
       b.first_event_at AS batch_first_event_at,
       s.first_event_at AS streaming_first_event_at,
       b.last_event_id AS batch_last_event_id,
       s.last_event_id AS streaming_last_event_id,
       b.event_count AS batch_event_count,
       s.event_count AS streaming_event_count,
       b.observed AS batch_observed, s.observed AS streaming_observed,
       b.threshold AS batch_threshold, s.threshold AS streaming_threshold,
       b.evidence AS batch_evidence, s.evidence AS streaming_evidence,
       b.kafka_topic AS batch_kafka_topic, s.kafka_topic AS streaming_kafka_topic,
       b.kafka_partition AS batch_kafka_partition,
       s.kafka_partition AS streaming_kafka_partition,
       b.kafka_offset AS batch_kafka_offset,
       s.kafka_offset AS streaming_kafka_offset
  FROM compliance_flags_batch b
  FULL OUTER JOIN compliance_flags s ON s.flag_id = b.flag_id
 CROSS JOIN LATERAL (
       SELECT CASE WHEN b.flag_id IS NOT NULL AND s.flag_id IS NOT NULL THEN
              array_remove(ARRAY[
                CASE WHEN b.rule IS DISTINCT FROM s.rule THEN 'rule' END,
                CASE WHEN b.rule_version IS DISTINCT FROM s.rule_version
                     THEN 'rule_version' END,
                CASE WHEN b.severity IS DISTINCT FROM s.severity
                     THEN 'severity' END,
                CASE WHEN b.subject_type IS DISTINCT FROM s.subject_type
                     THEN 'subject_type' END,
                CASE WHEN b.subject_id IS DISTINCT FROM s.subject_id
                     THEN 'subject_id' END,
                CASE WHEN b.window_start IS DISTINCT FROM s.window_start
                     THEN 'window_start' END,
                CASE WHEN b.window_end IS DISTINCT FROM s.window_end
                     THEN 'window_end' END,
                CASE WHEN b.first_event_id IS DISTINCT FROM s.first_event_id
                     THEN 'first_event_id' END,
                CASE WHEN b.first_event_at IS DISTINCT FROM s.first_event_at
                     THEN 'first_event_at' END,
                CASE WHEN b.last_event_id IS DISTINCT FROM s.last_event_id
                     THEN 'last_event_id' END,
                CASE WHEN b.event_count IS DISTINCT FROM s.event_count
                     THEN 'event_count' END,
                CASE WHEN b.observed IS DISTINCT FROM s.observed
                     THEN 'observed' END,
                CASE WHEN b.threshold IS DISTINCT FROM s.threshold
                     THEN 'threshold' END,
                CASE WHEN b.evidence IS DISTINCT FROM s.evidence
                     THEN 'evidence' END,
                CASE WHEN b.kafka_topic IS DISTINCT FROM s.kafka_topic
                     THEN 'kafka_topic' END,
                CASE WHEN b.kafka_partition IS DISTINCT FROM s.kafka_partition
                     THEN 'kafka_partition' END,
                CASE WHEN b.kafka_offset IS DISTINCT FROM s.kafka_offset
                     THEN 'kafka_offset' END]::text[], NULL)
              END AS cols) AS d;

GRANT SELECT ON compliance_flags_compare TO sg_writer, sg_analytics;
