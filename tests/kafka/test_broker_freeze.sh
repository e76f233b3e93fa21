#!/usr/bin/env bash
# The broker frozen with SIGSTOP for 16 s, longer than the consumers'
# session timeout (10 s), then resumed with SIGCONT, while sg-generate
# produces 50,000 events and both consumers run. On resume the group
# coordinator finds every member's session expired and rebalances; the
# consumers commit what they hold, rejoin and go on. Nothing is lost,
# nothing doubled: the whole exactly-once audit.
source "$(dirname "$0")/../integration/lib.sh"

COUNT=50000
FREEZE_S=16
db_create
broker_start 6
seed_users 500 42
bg raw sg-raw-store --progress-interval 1; RAW=$LAST_PID
bg sm sg-stream-metrics --progress-interval 1; SM=$LAST_PID
sg-generate --count "$COUNT" --rate 2000 --invalid-ratio 0.01 --days 2 --seed 909 \
  >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
wait_until 60 grep -q "progress .*committed=[1-9]" "$T/raw.log" || fail "no progress before the freeze"
wait_until 60 grep -q "progress .*committed=[1-9]" "$T/sm.log" || fail "no progress before the freeze"
sleep 2
kill -0 "$GEN" 2>/dev/null || fail "the generator finished before the freeze: it must land mid-run"
rows_before=$(psql_q 'SELECT count(*) FROM events_raw')
log "freezing the broker (SIGSTOP) for ${FREEZE_S}s at $rows_before rows"
kill -STOP "$BROKER_PID"
sleep "$FREEZE_S"
kill -CONT "$BROKER_PID"
log "broker resumed"
[ "$FREEZE_S" -gt "$SESSION_S" ] || fail "the freeze must outlast the session timeout"
wait "$GEN" || { tail -5 "$T/generate.log" >&2; fail "sg-generate did not deliver everything"; }
cp "$T/gen.json" "$T/gen-all.json"
kill -0 "$RAW" && kill -0 "$SM" || fail "a consumer died during the freeze"
pass "both consumers survived the freeze"
drain_and_stop "$COUNT" "$RAW" "$SM"
audit_exactly_once "$COUNT"
