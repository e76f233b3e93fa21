#!/usr/bin/env bash
# The batch side of the Lambda architecture: sg-batch-metrics recomputes
# metrics_batch_* from events_raw (idempotently, a day with no events
# included) and sg-compare diffs them against metrics_streaming_*: equal
# exits 0; a changed value, a row on the batch side only and a row on the
# streaming side only each exit 1 and name the row; JSON and Markdown;
# consumer offsets, duplicates and never-batched dates are reported; bad
# flags exit 2; the cron line of batch/crontab.example runs as written.
source "$(dirname "$0")/lib.sh"

db_create

# checksum: every batch row except updated_at, in key order.
checksum() {
  psql_q "SELECT md5(
    (SELECT coalesce(string_agg(concat_ws(',', event_date, event_type, total_events, total_amount), ';'
                                ORDER BY event_date, event_type), '') FROM metrics_batch_daily) || '|' ||
    (SELECT coalesce(string_agg(concat_ws(',', event_date, country, event_type, total_events, total_amount), ';'
                                ORDER BY event_date, country, event_type), '') FROM metrics_batch_country_daily) || '|' ||
    (SELECT coalesce(string_agg(concat_ws(',', event_date, content_id, plays, playback_errors, watch_seconds), ';'
                                ORDER BY event_date, content_id), '') FROM metrics_batch_content_daily))"
}

# compare ARGS...: runs sg-compare, output in $T/cmp.out, status in CMP_RC.
compare() {
  rc_of sg-compare "$@" >"$T/cmp.out" 2>"$T/cmp.err"
  CMP_RC=$RC
}

# expect_usage_error BIN ARGS...: exit 2 and the usage on stderr.
expect_usage_error() {
  local bin=$1; shift
  rc_of "$bin" "$@" >"$T/usage.out" 2>"$T/usage.err"; local rc=$RC
  assert_eq 2 "$rc" "$bin $* exit status"
  grep -q "Usage: $bin" "$T/usage.err" || fail "$bin $*: no usage on stderr"
  [ ! -s "$T/usage.out" ] || fail "$bin $*: wrote to stdout"
}

# --- flags -----------------------------------------------------------------
for bin in sg-batch-metrics sg-compare; do
  "$bin" --help >"$T/help.out" || fail "$bin --help exit status"
  grep -q "Usage: $bin" "$T/help.out" || fail "$bin --help has no usage line"
  grep -q -- "--all" "$T/help.out" || fail "$bin --help lacks the date flags"
  "$bin" --version | grep -q "$bin (StreamGuard) [0-9]" || fail "$bin --version"
  pass "$bin --help and --version"
  expect_usage_error "$bin" --no-such-flag
  rc_of "$bin" -X novalue >/dev/null 2>&1; rc=$RC
  assert_eq 2 "$rc" "$bin -X without '=' exit status"
  expect_usage_error "$bin" --date 2025-02-29
  expect_usage_error "$bin" --date 2025-13-01
  expect_usage_error "$bin" --date yesterday
  expect_usage_error "$bin" --from 2025-06-03 --to 2025-06-01
  expect_usage_error "$bin" --to 2025-06-01
  expect_usage_error "$bin" --all --date 2025-06-01
  expect_usage_error "$bin" --date 2025-06-01 --from 2025-06-01
  expect_usage_error "$bin" --retry-for -1
  expect_usage_error "$bin" extra-argument
done
expect_usage_error sg-compare --format xml
expect_usage_error sg-compare --max-rows -1
expect_usage_error sg-compare --raw-group ''
expect_usage_error sg-compare --stream-group sg-raw-store

# --- events ----------------------------------------------------------------
# Three days of events (2025-06-01..03), every type, several countries,
# amounts on purchases, content ids on playback events; timestamps near
# midnight UTC fall on the UTC date.
psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country, is_eu,
                        amount, content_id, watch_seconds, kafka_topic, kafka_partition, kafka_offset)
SELECT gen_random_uuid(), gen_random_uuid(), t.type, ts, (ts AT TIME ZONE 'UTC')::date,
       (ARRAY['US-CA', 'DE', 'FR', 'US-NY', 'GB'])[1 + i % 5], i % 5 IN (1, 2),
       CASE WHEN t.type = 'purchase' THEN (i % 97) + 0.25 ELSE 0 END,
       CASE WHEN t.type IN ('play', 'pause', 'seek', 'stop', 'playback_error') AND i % 4 <> 0
            THEN 'content-' || (i % 13) END,
       CASE WHEN t.type = 'stop' THEN i % 3600 END,
       'user_events', i % 3, i
  FROM generate_series(0, 2999) AS i
  CROSS JOIN LATERAL (SELECT (ARRAY['page_view', 'add_to_cart', 'purchase', 'play', 'pause', 'seek',
                                    'stop', 'playback_error'])[1 + (i * 5) % 8] AS type) AS t
  CROSS JOIN LATERAL (SELECT timestamptz '2025-06-01 00:00:00+00' + (i % 3) * interval '1 day'
                             + (i * 37 % 86400) * interval '1 second' AS ts) AS s" >/dev/null
assert_eq 3000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events inserted"

# --- batch: idempotent, matches a direct aggregation ------------------------
sg-batch-metrics --all >"$T/batch1.out" 2>"$T/batch1.log" || { cat "$T/batch1.log" >&2; fail "sg-batch-metrics --all"; }
for d in 2025-06-01 2025-06-02 2025-06-03; do
  grep -Eq "^$d +1000 +8 " "$T/batch1.out" || { cat "$T/batch1.out" >&2; fail "no line for $d with 1000 events"; }
done
grep -Eq '^total +3000 ' "$T/batch1.out" || fail "no total line"
pass "sg-batch-metrics --all prints one line per date and the total"
sum1=$(checksum)
[ -n "$sum1" ] || fail "empty checksum"
assert_eq 24 "$(psql_q 'SELECT count(*) FROM metrics_batch_daily')" "batch daily rows"

# What the batch tables must hold, computed independently of sg-batch-metrics.
assert_eq 0 "$(psql_q "
  SELECT count(*) FROM (
    (SELECT event_date, event_type, count(*)::bigint, sum(amount) FROM events_raw GROUP BY 1, 2
     EXCEPT SELECT event_date, event_type, total_events, total_amount FROM metrics_batch_daily)
    UNION ALL
    (SELECT event_date, event_type, total_events, total_amount FROM metrics_batch_daily
     EXCEPT SELECT event_date, event_type, count(*)::bigint, sum(amount) FROM events_raw GROUP BY 1, 2)) x")" \
  "daily rows differing from a direct aggregation"
assert_eq 0 "$(psql_q "
  SELECT count(*) FROM (
    (SELECT event_date, country, event_type, count(*)::bigint, sum(amount) FROM events_raw GROUP BY 1, 2, 3
     EXCEPT SELECT event_date, country, event_type, total_events, total_amount FROM metrics_batch_country_daily)
    UNION ALL
    (SELECT event_date, country, event_type, total_events, total_amount FROM metrics_batch_country_daily
     EXCEPT SELECT event_date, country, event_type, count(*)::bigint, sum(amount) FROM events_raw GROUP BY 1, 2, 3)) x")" \
  "country rows differing from a direct aggregation"
assert_eq 0 "$(psql_q "
  WITH direct AS (
    SELECT event_date, content_id,
           sum(CASE WHEN event_type = 'play' THEN 1 ELSE 0 END)::bigint AS plays,
           sum(CASE WHEN event_type = 'playback_error' THEN 1 ELSE 0 END)::bigint AS errors,
           sum(CASE WHEN event_type = 'stop' THEN coalesce(watch_seconds, 0) ELSE 0 END)::bigint AS watch
      FROM events_raw WHERE content_id IS NOT NULL GROUP BY 1, 2)
  SELECT count(*) FROM (
    (SELECT * FROM direct EXCEPT SELECT event_date, content_id, plays, playback_errors, watch_seconds
                                   FROM metrics_batch_content_daily)
    UNION ALL
    (SELECT event_date, content_id, plays, playback_errors, watch_seconds FROM metrics_batch_content_daily
     EXCEPT SELECT * FROM direct)) x")" \
  "content rows differing from a direct aggregation"
assert_eq 0 "$(psql_q "SELECT count(*) FROM metrics_batch_daily WHERE event_type <> 'purchase' AND total_amount <> 0")" \
  "non-purchase rows with an amount"

sg-batch-metrics --all >"$T/batch2.out" 2>"$T/batch2.log" || fail "second sg-batch-metrics --all"
assert_eq "$sum1" "$(checksum)" "checksum after a second --all run"
sg-batch-metrics --date 2025-06-02 >"$T/batch3.out" 2>"$T/batch3.log" || fail "sg-batch-metrics --date"
assert_eq "$sum1" "$(checksum)" "checksum after re-running one date"
sg-batch-metrics --from 2025-05-31 --to 2025-06-04 >"$T/batch4.out" 2>"$T/batch4.log" || fail "sg-batch-metrics --from --to"
assert_eq "$sum1" "$(checksum)" "checksum after re-running a range"
assert_eq 5 "$(grep -Ec '^2025-0[56]-[0-9]{2} ' "$T/batch4.out")" "dates printed for a 5-day range"
assert_eq 4 "$(psql_q 'SELECT count(*) FROM metrics_batch_runs')" "metrics_batch_runs rows"
assert_eq "2025-05-31 2025-06-04 3000" \
  "$(psql_q "SELECT date_from || ' ' || date_to || ' ' || events FROM metrics_batch_runs ORDER BY id DESC LIMIT 1")" \
  "last run recorded"

# --- a day with no events ---------------------------------------------------
sg-batch-metrics --date 2025-06-10 >"$T/empty.out" 2>"$T/empty.log" || fail "sg-batch-metrics on an empty day"
grep -Eq '^2025-06-10 +0 +0 +0 +0$' "$T/empty.out" || { cat "$T/empty.out" >&2; fail "empty day not reported as 0"; }
grep -Eq '^total +0 +0 +0 +0$' "$T/empty.out" || fail "empty day total not 0"
pass "an empty day is recomputed as 0 events, 0 rows"
assert_eq "$sum1" "$(checksum)" "checksum after recomputing an empty day"
compare --date 2025-06-10
assert_eq 0 "$CMP_RC" "sg-compare exit status on an empty day"
grep -q "daily (metrics_batch_daily vs metrics_streaming_daily): 0 rows compared, 0 differences" "$T/cmp.out" \
  || fail "empty day: no '0 rows compared' line"
pass "sg-compare on an empty day: 0 rows compared"

# --- streaming equal to batch -----------------------------------------------
compare --all
assert_eq 1 "$CMP_RC" "sg-compare with empty streaming tables"
grep -q "24 rows compared, 24 differences" "$T/cmp.out" || fail "every daily row should be batch-only"
psql_q "INSERT INTO metrics_streaming_daily SELECT * FROM metrics_batch_daily;
        INSERT INTO metrics_streaming_country_daily SELECT * FROM metrics_batch_country_daily;
        INSERT INTO metrics_streaming_content_daily SELECT * FROM metrics_batch_content_daily;
        INSERT INTO stream_offsets (consumer_group, topic, partition, next_offset, cluster_id) VALUES
          ('sg-raw-store', 'user_events', 0, 1000, 'c1'), ('sg-raw-store', 'user_events', 1, 1000, 'c1'),
          ('sg-raw-store', 'user_events', 2, 1000, 'c1'), ('sg-stream-metrics', 'user_events', 0, 1000, 'c1'),
          ('sg-stream-metrics', 'user_events', 1, 977, 'c1')" >/dev/null
compare --all
assert_eq 0 "$CMP_RC" "sg-compare --all exit status when equal"
assert_eq 3 "$(grep -c ' rows compared, 0 differences$' "$T/cmp.out")" "tables with 0 differences"
grep -q "^verdict: EQUAL" "$T/cmp.out" || fail "no EQUAL verdict"
pass "sg-compare --all: equal"
compare --all --dsn "$ANALYTICS_DSN"
assert_eq 0 "$CMP_RC" "sg-compare as sg_analytics (read only)"

# Consumer progress: the stored offsets per partition and the lag.
grep -Eq '^ +0 +1000 +1000 +0 +1000 +0$' "$T/cmp.out" || { cat "$T/cmp.out" >&2; fail "partition 0 offsets"; }
grep -Eq '^ +1 +1000 +977 +23 +1000 +0$' "$T/cmp.out" || fail "partition 1 offsets"
grep -Eq '^ +2 +1000 +- +1000 +1000 +0$' "$T/cmp.out" || fail "partition 2 offsets"
grep -q "sg-stream-metrics is behind sg-raw-store on 2 partitions (1023 offsets)" "$T/cmp.out" || fail "no lag note"
pass "sg-compare prints the stored offsets per partition and the lag"

# --- corruptions --------------------------------------------------------------
# (a) a streaming value changed
psql_q "UPDATE metrics_streaming_daily SET total_events = total_events + 5
         WHERE event_date = '2025-06-02' AND event_type = 'purchase'" >/dev/null
compare --all
assert_eq 1 "$CMP_RC" "sg-compare exit status, one value changed"
grep -q "daily (metrics_batch_daily vs metrics_streaming_daily): 24 rows compared, 1 difference$" "$T/cmp.out" \
  || fail "(a) count"
grep -Eq '^  2025-06-02  purchase +batch ' "$T/cmp.out" || { cat "$T/cmp.out" >&2; fail "(a) row not named"; }
grep -Eq '^ +delta +\+5 +0\.00$' "$T/cmp.out" || fail "(a) delta not shown"
grep -q "^verdict: DIFFERENT: 1 difference (daily 1, country_daily 0, content_daily 0)" "$T/cmp.out" || fail "(a) verdict"
pass "(a) changed streaming total: named, delta +5"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts")" "alerts without --alert"
# --alert: the difference is an alert, once; read-only users cannot add it.
compare --all --alert
assert_eq 1 "$CMP_RC" "sg-compare --alert exit status"
assert_eq "compare|batch_stream_differ|high|date:all dates|1|batch and streaming metrics differ for all dates: 1 differences (sg-compare)" \
  "$(psql_q "SELECT source || '|' || kind || '|' || severity || '|' || subject_type || ':' || subject_id || '|' ||
                    (counts->>'differences') || '|' || summary FROM alerts")" "the difference's alert"
compare --all --alert
assert_eq 1 "$(psql_q "SELECT count(*) FROM alerts")" "alerts after the same comparison again"
compare --all --alert --dsn "$ANALYTICS_DSN"
assert_eq 1 "$CMP_RC" "sg-compare --alert as sg_analytics exit status"
grep -q "permission denied\|42501" "$T/cmp.err" || { cat "$T/cmp.err" >&2; fail "sg-compare --alert as sg_analytics: no clear error"; }
pass "--alert: one alert for the difference, none again for the same one"
compare --all --format json
assert_eq 1 "$CMP_RC" "sg-compare --format json exit status"
jq -e . "$T/cmp.out" >/dev/null || fail "--format json is not valid JSON"
assert_eq "false 1 differs 2025-06-02 purchase 5" \
  "$(jq -r '[.equal, .differences, (.tables[0].rows[0] | .status, .key.event_date, .key.event_type, .delta.total_events)] | map(tostring) | join(" ")' "$T/cmp.out")" \
  "(a) in JSON"
assert_eq "1000 977" \
  "$(jq -r '.consumers.partitions[] | select(.partition == 1) | "\(.next_offset["sg-raw-store"]) \(.next_offset["sg-stream-metrics"])"' "$T/cmp.out")" \
  "stored offsets in JSON"
compare --date 2025-06-01
assert_eq 0 "$CMP_RC" "a difference on another date is not in --date 2025-06-01"
compare --from 2025-06-02 --to 2025-06-03 --max-rows 0
assert_eq 1 "$CMP_RC" "--max-rows 0 still counts the difference"
grep -q "16 rows compared, 1 difference$" "$T/cmp.out" || fail "--max-rows 0 count"
grep -q "and 1 more not listed" "$T/cmp.out" || fail "--max-rows 0: capped rows not announced"
psql_q "UPDATE metrics_streaming_daily SET total_events = total_events - 5
         WHERE event_date = '2025-06-02' AND event_type = 'purchase'" >/dev/null

# (b) a row on the batch side only
cid=$(psql_q "SELECT content_id FROM metrics_streaming_content_daily WHERE event_date = '2025-06-03' ORDER BY content_id LIMIT 1")
psql_q "DELETE FROM metrics_streaming_content_daily WHERE event_date = '2025-06-03' AND content_id = '$cid'" >/dev/null
compare --all --format markdown
assert_eq 1 "$CMP_RC" "sg-compare exit status, a row on the batch side only"
grep -Eq '^\| event_date \| content_id \| status +\| plays batch \| plays streaming \| plays delta \|' "$T/cmp.out" \
  || { cat "$T/cmp.out" >&2; fail "(b) no Markdown table header"; }
grep -Eq '^\| :-+ \| :-+ \| :-+ \| -+: \|' "$T/cmp.out" || fail "(b) no Markdown separator row"
grep -Eq "^\\| 2025-06-03 \\| $cid +\\| batch only +\\| +[0-9]+ \\| +- \\|" "$T/cmp.out" || fail "(b) row not named"
grep -q '^\*\*Verdict: DIFFERENT: 1 difference' "$T/cmp.out" || fail "(b) Markdown verdict"
pass "(b) batch-only row: named in a Markdown table"
psql_q "INSERT INTO metrics_streaming_content_daily SELECT * FROM metrics_batch_content_daily
         WHERE event_date = '2025-06-03' AND content_id = '$cid'" >/dev/null
compare --all
assert_eq 0 "$CMP_RC" "equal again after restoring (b)"

# (c) a row on the streaming side only, for a date the batch has no rows for
psql_q "INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
        VALUES ('2025-06-09', 'purchase', 3, 29.97)" >/dev/null
compare --all
assert_eq 1 "$CMP_RC" "sg-compare exit status, a row on the streaming side only"
grep -Eq '^  2025-06-09  purchase +batch +\(no row\)$' "$T/cmp.out" || { cat "$T/cmp.out" >&2; fail "(c) row not named"; }
grep -Eq '^ +streaming +3 +29\.97$' "$T/cmp.out" || fail "(c) streaming values"
compare --date 2025-06-09 --format json
assert_eq 1 "$CMP_RC" "(c) --date 2025-06-09 exit status"
assert_eq "streaming_only null 29.97" \
  "$(jq -r '.tables[0].rows[0] | "\(.status) \(.batch) \(.streaming.total_amount)"' "$T/cmp.out")" "(c) in JSON"
pass "(c) streaming-only row: named"

# A date no batch run covered is said so (the --all runs covered every date).
psql_q "DELETE FROM metrics_batch_runs WHERE date_from = '-infinity'" >/dev/null
compare --date 2025-06-09
grep -q "sg-batch-metrics has never run for 1 of the selected dates (metrics_batch_runs): 2025-06-09" "$T/cmp.out" \
  || { cat "$T/cmp.out" >&2; fail "never-batched date not noted"; }
pass "a date never batched is noted"
psql_q "DELETE FROM metrics_streaming_daily WHERE event_date = '2025-06-09'" >/dev/null

# Upstream duplicates: the streaming path counts them, the batch does not.
psql_q "INSERT INTO events_duplicates (consumer_group, event_id, kafka_topic, kafka_partition, kafka_offset)
        SELECT 'sg-raw-store', event_id, 'user_events', kafka_partition, 5000 FROM events_raw
         WHERE event_date = '2025-06-01' ORDER BY event_id LIMIT 2" >/dev/null
compare --all
assert_eq 0 "$CMP_RC" "equal again after restoring (c)"
grep -q "events_duplicates holds 2 upstream duplicates (2 of them for events in the selected dates)" "$T/cmp.out" \
  || fail "duplicates not noted"
compare --date 2025-06-02
grep -q "events_duplicates holds 2 upstream duplicates (0 of them" "$T/cmp.out" || fail "duplicates per date"
pass "duplicates are noted with the share in the selected dates"

# --- no database ---------------------------------------------------------------
NODB="host=127.0.0.1 port=1 dbname=nowhere user=nobody"
for bin in sg-batch-metrics sg-compare; do
  rc_of "$bin" --all --retry-for 0 --dsn "$NODB" >"$T/nodb.out" 2>"$T/nodb.err"; rc=$RC
  assert_eq 1 "$rc" "$bin without a database, --retry-for 0"
  assert_eq 1 "$(wc -l <"$T/nodb.err")" "$bin: lines on stderr without a database"
  [ ! -s "$T/nodb.out" ] || fail "$bin wrote to stdout without a database"
done
rc_of sg-batch-metrics --all --retry-for 2 --dsn "$NODB" >/dev/null 2>"$T/nodb.err"; rc=$RC
assert_eq 1 "$rc" "sg-batch-metrics --retry-for 2 without a database"
[ "$(grep -c 'postgres unavailable, retrying' "$T/nodb.err")" -ge 2 ] || fail "no retries"
grep -q "gave up after attempts=[0-9]* in [0-9]* s" "$T/nodb.err" || fail "no give-up line"
pass "bounded retry: $(grep -c 'postgres unavailable' "$T/nodb.err") retry lines, then exit 1"
assert_eq "$sum1" "$(checksum)" "batch tables untouched by the failed runs"

# --- the cron line of batch/crontab.example, as written ------------------------
# Events for yesterday (UTC), and streaming rows computed directly: the
# nightly line must recompute that day and find it equal.
D=$(date -u -d yesterday +%F)
psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country, is_eu,
                        amount, content_id, watch_seconds, kafka_topic, kafka_partition, kafka_offset)
SELECT gen_random_uuid(), gen_random_uuid(), (ARRAY['purchase', 'play', 'stop'])[1 + i % 3],
       timestamptz '$D 12:00:00+00' + i * interval '1 second', date '$D', 'DE', true,
       CASE WHEN i % 3 = 0 THEN 9.99 ELSE 0 END, 'content-' || (i % 4), CASE WHEN i % 3 = 2 THEN 60 END,
       'user_events', 0, 10000 + i
  FROM generate_series(1, 30) AS i;
INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
  SELECT event_date, event_type, count(*), sum(amount) FROM events_raw WHERE event_date = '$D' GROUP BY 1, 2;
INSERT INTO metrics_streaming_country_daily (event_date, country, event_type, total_events, total_amount)
  SELECT event_date, country, event_type, count(*), sum(amount) FROM events_raw WHERE event_date = '$D' GROUP BY 1, 2, 3;
INSERT INTO metrics_streaming_content_daily (event_date, content_id, plays, playback_errors, watch_seconds)
  SELECT event_date, content_id, count(*) FILTER (WHERE event_type = 'play'),
         count(*) FILTER (WHERE event_type = 'playback_error'),
         coalesce(sum(watch_seconds) FILTER (WHERE event_type = 'stop'), 0)
    FROM events_raw WHERE event_date = '$D' AND content_id IS NOT NULL GROUP BY 1, 2" >/dev/null
CRONTAB=$SG_SRC/batch/crontab.example
cron_cmd=$(grep -E '^[0-9*]' "$CRONTAB" | head -1 | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }')
[ -n "$cron_cmd" ] || fail "no schedule line in crontab.example"
grep -q '^PG_DSN=' "$CRONTAB" || fail "crontab.example sets no PG_DSN"
grep -q '^PATH=' "$CRONTAB" || fail "crontab.example sets no PATH"
# cron turns \% into % and runs the line with /bin/sh and only the
# crontab's variables (here: the test's database, binaries and log folder).
cron_cmd=${cron_cmd//\\%/%}
mkdir -p "$T/cronlog"
run_cron() {
  rc_of env -i HOME="$HOME" SHELL=/bin/sh PATH="$SG_BIN:/usr/bin:/bin" PG_DSN="$PG_DSN" \
    SG_LOG_LEVEL=warn LOGDIR="$T/cronlog" /bin/sh -c "$cron_cmd" >"$T/cron.mail" 2>&1
  CRON_RC=$RC
}
run_cron
assert_eq 0 "$CRON_RC" "the cron line's exit status"
[ ! -s "$T/cron.mail" ] || { cat "$T/cron.mail" >&2; fail "the cron line printed something (cron would mail it)"; }
grep -Eq "^$D +30 " "$T/cronlog/batch.log" || fail "the cron line did not recompute $D"
grep -q '^\*\*Verdict: EQUAL' "$T/cronlog/compare-$D.md" || fail "no EQUAL verdict in compare-$D.md"
pass "cron line: recomputed $D, compare-$D.md says EQUAL, nothing to mail"
psql_q "UPDATE metrics_streaming_daily SET total_events = total_events + 1
         WHERE event_date = '$D' AND event_type = 'purchase'" >/dev/null
run_cron
grep -q "exit 1" "$T/cron.mail" || { cat "$T/cron.mail" >&2; fail "a difference is not mailed"; }
grep -Eq "^\\| $D \\| purchase +\\| differs +\\|" "$T/cron.mail" || fail "the mail does not name the row"
assert_eq 1 "$(psql_q "SELECT count(*) FROM alerts WHERE kind = 'batch_stream_differ' AND subject_id = '$D'")" \
  "the cron line's alert for $D"
pass "cron line: a difference prints the report, so cron mails it, and is an alert"

# --- unusual but valid events: the batch sums must still match ---------------
# sg-batch-metrics aggregates per (date, country, type, content_id) first and
# derives the three tables from that: content ids on non-playback types
# (content rows with 0 plays), watch seconds on events other than 'stop'
# (not counted), stops without watch seconds, negative and large amounts.
psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country, is_eu,
                        amount, content_id, watch_seconds, kafka_topic, kafka_partition, kafka_offset)
SELECT gen_random_uuid(), gen_random_uuid(),
       (ARRAY['page_view', 'add_to_cart', 'purchase', 'play', 'pause', 'seek', 'stop', 'playback_error'])[1 + i % 8],
       timestamptz '2025-06-05 00:00:00+00' + i * interval '1 second', date '2025-06-05',
       (ARRAY['DE', 'FR', 'US-CA'])[1 + i % 3], i % 3 < 2,
       CASE WHEN i % 5 = 0 THEN -((i % 97) + 0.01) WHEN i % 7 = 0 THEN 9999999999.99 ELSE (i % 13) * 0.5 END,
       CASE WHEN i % 4 <> 0 THEN 'content-' || (i % 17) END,
       CASE WHEN i % 6 <> 0 THEN i % 5000 END,
       'user_events', 0, 20000 + i
  FROM generate_series(1, 2000) AS i" >/dev/null
sg-batch-metrics --date 2025-06-05 >"$T/odd.out" 2>"$T/odd.log" || { cat "$T/odd.log" >&2; fail "sg-batch-metrics on unusual events"; }
grep -Eq '^2025-06-05 +2000 +8 +24 +17$' "$T/odd.out" || { cat "$T/odd.out" >&2; fail "unusual events: counts"; }
assert_eq 0 "$(psql_q "
  WITH e AS (SELECT * FROM events_raw WHERE event_date = '2025-06-05'),
  direct AS (
    SELECT 'daily' AS t, concat_ws(',', event_date, event_type, count(*), sum(amount)) AS r
      FROM e GROUP BY event_date, event_type
    UNION ALL
    SELECT 'country', concat_ws(',', event_date, country, event_type, count(*), sum(amount))
      FROM e GROUP BY event_date, country, event_type
    UNION ALL
    SELECT 'content', concat_ws(',', event_date, content_id, count(*) FILTER (WHERE event_type = 'play'),
                                count(*) FILTER (WHERE event_type = 'playback_error'),
                                coalesce(sum(watch_seconds) FILTER (WHERE event_type = 'stop'), 0))
      FROM e WHERE content_id IS NOT NULL GROUP BY event_date, content_id),
  batch AS (
    SELECT 'daily' AS t, concat_ws(',', event_date, event_type, total_events, total_amount) AS r
      FROM metrics_batch_daily WHERE event_date = '2025-06-05'
    UNION ALL
    SELECT 'country', concat_ws(',', event_date, country, event_type, total_events, total_amount)
      FROM metrics_batch_country_daily WHERE event_date = '2025-06-05'
    UNION ALL
    SELECT 'content', concat_ws(',', event_date, content_id, plays, playback_errors, watch_seconds)
      FROM metrics_batch_content_daily WHERE event_date = '2025-06-05')
  SELECT count(*) FROM ((TABLE direct EXCEPT ALL TABLE batch) UNION ALL (TABLE batch EXCEPT ALL TABLE direct)) x")" \
  "unusual events: batch rows differing from a direct aggregation"
