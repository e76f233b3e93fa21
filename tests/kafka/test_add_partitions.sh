#!/usr/bin/env bash
# Partitions added to user_events mid-run (4 -> 8, with sg-topics grow)
# while sg-generate produces 50,000 events and both consumers run: the
# generator writes to the new partitions, the consumers pick them up
# (nothing stored for them: they start at offset 0) and store every event
# of them exactly once. The whole exactly-once audit, over 8 partitions.
source "$(dirname "$0")/../integration/lib.sh"

COUNT=50000
db_create
broker_start 4
seed_users 500 42
bg raw sg-raw-store --progress-interval 1; RAW=$LAST_PID
bg sm sg-stream-metrics --progress-interval 1; SM=$LAST_PID
sg-generate --count "$COUNT" --rate 2000 --invalid-ratio 0.01 --days 2 --seed 1001 \
  >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
wait_until 60 grep -q "progress .*committed=[1-9]" "$T/raw.log" || fail "no progress before growing the topic"
sleep 3
kill -0 "$GEN" 2>/dev/null || fail "the generator finished before the topic grew: it must grow mid-run"
sg-topics grow user_events 8 >"$T/grow.out" 2>>"$T/topics.log" || fail "sg-topics grow"
assert_eq "user_events 8 (grown from 4)" "$(cat "$T/grow.out")" "sg-topics grow output"
for name in raw sm; do
  wait_until 60 grep -q "assigned partition=7 " "$T/$name.log" || fail "$name did not pick up the new partitions"
done
pass "both consumers were assigned the new partitions"
wait "$GEN" || { tail -5 "$T/generate.log" >&2; fail "sg-generate did not deliver everything"; }
cp "$T/gen.json" "$T/gen-all.json"
new_msgs=$(log_ends | awk '$1 >= 4 {s += $2} END {print s + 0}')
log "events written to the new partitions: $new_msgs"
[ "$new_msgs" -gt 1000 ] || fail "the generator wrote only $new_msgs events to the new partitions"
pass "the generator wrote to the new partitions"
drain_and_stop "$COUNT" "$RAW" "$SM"
assert_eq 8 "$(psql_q "SELECT count(*) FROM stream_offsets WHERE consumer_group = 'sg-raw-store' AND next_offset > 0")" \
  "partitions with stored offsets"
audit_exactly_once "$COUNT"
