#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# The Lambda proof: 100,000 events spread over 3 days of event time go
# through sg-raw-store and sg-stream-metrics; sg-batch-metrics recomputes
# the metrics from events_raw; sg-compare --all finds zero differences.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 12
seed_users 1000 42
bg raw sg-raw-store --idle-exit 5; RAW=$LAST_PID
bg sm sg-stream-metrics --idle-exit 5 --batch-rows 20000; SM=$LAST_PID
generate --count 100000 --days 3 --invalid-ratio 0.01 --seed 101
assert_eq 100000 "$(jq .delivered "$T/gen.json")" "events delivered"
wait_pid "$RAW" 300 || fail "sg-raw-store exit status"
wait_pid "$SM" 300 || fail "sg-stream-metrics exit status"

assert_eq 99000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events_raw rows"
assert_eq 99000 "$(psql_q 'SELECT sum(total_events) FROM metrics_streaming_daily')" "events counted by streaming"
days=$(psql_q 'SELECT count(DISTINCT event_date) FROM events_raw')
[ "$days" -ge 3 ] || fail "events span only $days dates"
pass "events span $days UTC dates"

sg-batch-metrics --all >"$T/batch.out" 2>"$T/batch.log" || fail "sg-batch-metrics --all"
rc_of sg-compare --all >"$T/compare.out" 2>"$T/compare.log"; rc=$RC
cat "$T/compare.out" >&2
assert_eq 0 "$rc" "sg-compare --all exit status"
assert_eq "$(psql_q 'SELECT count(*) FROM metrics_batch_daily')" "$(psql_q 'SELECT count(*) FROM metrics_streaming_daily')" \
  "daily rows on both sides"
assert_eq "$(psql_q 'SELECT count(*) FROM metrics_batch_content_daily')" "$(psql_q 'SELECT count(*) FROM metrics_streaming_content_daily')" \
  "content rows on both sides"
assert_eq 100000 "$(psql_q "SELECT sum(next_offset) FROM stream_offsets WHERE consumer_group = 'sg-stream-metrics'")" \
  "offsets stored by sg-stream-metrics"
