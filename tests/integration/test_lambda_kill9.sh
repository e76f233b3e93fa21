#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-stream-metrics killed with SIGKILL three times while 100,000 events
# stream in over 3 days of event time, restarted each time: batch and
# streaming still agree to the cent (no event lost, none counted twice),
# and so do the events per minute (metrics_streaming_minute) with
# events_raw.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 12
seed_users 1000 42
# A minute older than metrics_streaming_minute's 7 days: the first flush
# prunes it.
psql_q "INSERT INTO metrics_streaming_minute (minute, events) VALUES (date_trunc('minute', now(), 'UTC') - interval '8 days', 1)"
bg raw sg-raw-store --batch-ms 300; RAW=$LAST_PID
start_sm() { bg sm sg-stream-metrics --batch-rows 3000 --batch-ms 300 --progress-interval 2; SM=$LAST_PID; }
start_sm
sg-generate --count 100000 --rate 2500 --days 3 --seed 202 >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
sm_ready() {
  grep -q "progress .*committed=[1-9]" "$T/sm.log" || return 1
  kill -0 "$GEN" 2>/dev/null || fail "the generator finished before a kill"
}
sm_restart() {
  sg_kill9 "$SM"
  mv "$T/sm.log" "$T/sm.$1.log"
  log "killed sg-stream-metrics (round $1) at $(psql_q 'SELECT coalesce(sum(total_events),0) FROM metrics_streaming_daily') counted events"
  start_sm
}
sg_kill9_loop 3 sm_ready sm_restart
wait "$GEN" || fail "sg-generate failed"
assert_eq 100000 "$(jq .delivered "$T/gen.json")" "events delivered"
# Drain: stop the long-running daemons, finish with --idle-exit.
kill -TERM "$SM" "$RAW"; wait "$SM" || fail "sg-stream-metrics SIGTERM exit"; wait "$RAW" || fail "sg-raw-store SIGTERM exit"
sg-raw-store --idle-exit 3 2>"$T/raw.final.log" || fail "final sg-raw-store"
sg-stream-metrics --idle-exit 3 2>"$T/sm.final.log" || fail "final sg-stream-metrics"

assert_eq 100000 "$(psql_q 'SELECT sum(total_events) FROM metrics_streaming_daily')" "events counted by streaming"
audit_minutes
assert_eq 0 "$(psql_q "SELECT count(*) FROM metrics_streaming_minute WHERE minute < now() - interval '7 days'")" \
  "minutes older than 7 days left in metrics_streaming_minute"
sg-batch-metrics --all >"$T/batch.out" 2>"$T/batch.log" || fail "sg-batch-metrics --all"
rc_of sg-compare --all >"$T/compare.out" 2>"$T/compare.log"
cat "$T/compare.out" >&2
assert_eq 0 "$RC" "sg-compare --all exit status after three kills"
