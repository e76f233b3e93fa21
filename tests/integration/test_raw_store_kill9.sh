#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-raw-store killed with SIGKILL three times while events stream in (80,000
# events over ~40 s), and
# restarted each time: every event still takes effect exactly once.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 6
seed_users 300 42

start_raw() { bg raw sg-raw-store --batch-rows 2000 --batch-ms 200 --progress-interval 2; RAW_PID=$LAST_PID; }
start_raw
sg-generate --count 80000 --rate 2000 --invalid-ratio 0.01 --seed 21 >"$T/gen.json" 2>"$T/generate.log" &
GEN_PID=$!
# Kill only once it has committed something since the last restart, and
# while the generator still runs.
raw_ready() {
  grep -q "progress .*committed=[1-9]" "$T/raw.log" || return 1
  kill -0 "$GEN_PID" 2>/dev/null || fail "the generator finished before a kill: the kills must land mid-run"
}
raw_restart() {
  sg_kill9 "$RAW_PID"
  mv "$T/raw.log" "$T/raw.$1.log"
  log "killed sg-raw-store (round $1) after $(psql_q 'SELECT count(*) FROM events_raw') rows"
  start_raw
}
sg_kill9_loop 3 raw_ready raw_restart
wait "$GEN_PID" || fail "sg-generate failed"
cp "$T/gen.json" "$T/gen-all.json"
assert_eq 80000 "$(jq .delivered "$T/gen.json")" "events delivered"
kill -TERM "$RAW_PID"; wait "$RAW_PID" || fail "sg-raw-store did not exit 0 on SIGTERM"
grep -q "exit status=0" "$T/raw.log" || fail "no clean exit line"
# Finish whatever is left.
sg-raw-store --idle-exit 3 2>"$T/raw.final.log" || fail "final sg-raw-store run"
audit_raw_store $((80000 - 800)) 800 80000
assert_eq "$(expected_reasons)" "$(actual_reasons)" "rejections by reason"
