#!/usr/bin/env bash
# PostgreSQL restarted under the daemons (fast, then immediate shutdown)
# while events stream: they log the outage, wait, reconnect and resume;
# every event still takes effect exactly once. Runs alone (RUN_SERIAL): it
# restarts the shared local cluster.
source "$(dirname "$0")/../integration/lib.sh"

db_create
broker_start 6
seed_users 500 42
bg raw sg-raw-store --batch-ms 200; RAW=$LAST_PID
bg sm sg-stream-metrics --batch-ms 300; SM=$LAST_PID
sg-generate --count 60000 --rate 3000 --invalid-ratio 0.01 --days 2 --seed 404 >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
for mode in fast immediate; do
  wait_until 60 grep -q "progress .*committed=[1-9]" "$T/raw.log" || fail "no progress before the $mode restart"
  sleep 2
  log "restarting PostgreSQL (-m $mode)"
  pg_restart "$mode"
done
wait "$GEN" || fail "sg-generate failed"
cp "$T/gen.json" "$T/gen-all.json"
assert_eq 60000 "$(jq .delivered "$T/gen.json")" "events delivered"
kill -TERM "$RAW" "$SM"; wait "$RAW" || fail "sg-raw-store exit"; wait "$SM" || fail "sg-stream-metrics exit"
grep -qE "postgres unavailable|batch commit failed" "$T/raw.log" || fail "sg-raw-store did not notice the outage"
pass "sg-raw-store logged the outage and carried on"
sg-raw-store --idle-exit 3 2>"$T/raw.final.log" || fail "final sg-raw-store"
sg-stream-metrics --idle-exit 3 2>"$T/sm.final.log" || fail "final sg-stream-metrics"
audit_raw_store 59400 600 60000
audit_lambda
