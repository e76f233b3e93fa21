#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-raw-store and sg-stream-metrics each killed with SIGKILL three times,
# at seeded random moments, while 200,000 events stream in over 2 days of
# event time (1% invalid), and restarted each time. Every event still takes
# effect exactly once: stored or rejected once, counted once by the
# streaming metrics (batch = streaming), and both groups' stored offsets
# are the log's end offsets.
#
# Timing: a restarted consumer waits for the killed member's session
# timeout (6 s on the embedded broker, 10 s on Apache Kafka) before the
# group rebalances, so the
# kills are spaced by "committed something since the restart" plus a
# random 1-4 s, and the generator's rate is chosen so that all six kills
# land while it runs (asserted). 24 partitions: the embedded broker keeps
# 5 MiB per partition, so even a backlog of the whole run stays in the log.
source "$(dirname "$0")/../integration/lib.sh"

SEED=${SG_KILL_SEED:-4242}
RANDOM=$SEED
COUNT=200000
db_create
broker_start 24
seed_users 1000 42
B=$(head -1 "$SG_BROKER_FILE")

start_raw() { bg raw sg-raw-store --batch-rows 5000 --batch-ms 300 --progress-interval 1; RAW=$LAST_PID; }
start_sm() { bg sm sg-stream-metrics --batch-rows 5000 --batch-ms 300 --progress-interval 1; SM=$LAST_PID; }
start_raw
start_sm
sg-generate --count "$COUNT" --rate 3000 --invalid-ratio 0.01 --days 2 --seed 606 \
  >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
log "kill schedule seeded with RANDOM=$SEED"

# kill_one NAME ROUND: once NAME's current instance has committed
# something, waits a random 1.0-3.9 s, kills it with SIGKILL, restarts it.
kill_one() {
  local name=$1 round=$2 pid
  wait_until 90 grep -q "progress .*committed=[1-9]" "$T/$name.log" || fail "$name: no progress before kill $round"
  sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"
  kill -0 "$GEN" 2>/dev/null || fail "the generator finished before kill $round of $name: the kills must land mid-run"
  if [ "$name" = raw ]; then pid=$RAW; else pid=$SM; fi
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  mv "$T/$name.log" "$T/$name.$round.log"
  log "killed $name (round $round): events_raw $(psql_q 'SELECT count(*) FROM events_raw'), counted $(psql_q 'SELECT coalesce(sum(total_events), 0) FROM metrics_streaming_daily')"
  if [ "$name" = raw ]; then start_raw; else start_sm; fi
}
# The two groups are independent: alternate them, in a seeded order.
for round in 1 2 3; do
  if [ $((RANDOM % 2)) -eq 0 ]; then kill_one raw "$round"; kill_one sm "$round"
  else kill_one sm "$round"; kill_one raw "$round"; fi
done
wait "$GEN" || fail "sg-generate failed"
cp "$T/gen.json" "$T/gen-all.json"
assert_eq "$COUNT" "$(jq .delivered "$T/gen.json")" "events delivered"
for name in raw sm; do
  assert_eq 3 "$(ls "$T/$name".[1-3].log | wc -l)" "$name instances killed with SIGKILL"
done

# Drain: the last instances catch up, stop cleanly on SIGTERM; then one
# more --idle-exit run of each finds nothing left.
wait_until 240 caught_up "$COUNT" || fail "consumers did not reach the end of the log: raw $(stored_sum sg-raw-store), metrics $(stored_sum sg-stream-metrics) of $COUNT"
kill -TERM "$RAW" "$SM"
rc=0; wait "$RAW" || rc=$?; assert_eq 0 "$rc" "sg-raw-store exit status (SIGTERM)"
rc=0; wait "$SM" || rc=$?; assert_eq 0 "$rc" "sg-stream-metrics exit status (SIGTERM)"
bg raw.final sg-raw-store --idle-exit 2; P1=$LAST_PID
bg sm.final sg-stream-metrics --idle-exit 2; P2=$LAST_PID
rc=0; wait_pid "$P1" 120 || rc=$?; assert_eq 0 "$rc" "final sg-raw-store --idle-exit exit status"
rc=0; wait_pid "$P2" 120 || rc=$?; assert_eq 0 "$rc" "final sg-stream-metrics --idle-exit exit status"
grep -q "exit status=0 stored=0 rejected=0 duplicates=0" "$T/raw.final.log" || fail "final sg-raw-store found events left"
grep -q "exit status=0 counted=0 " "$T/sm.final.log" || fail "final sg-stream-metrics found events left"
pass "nothing left for the final --idle-exit runs"

INVALID=$(jq .invalid "$T/gen.json")
assert_eq $((COUNT / 100)) "$INVALID" "invalid events generated"
audit_raw_store $((COUNT - INVALID)) "$INVALID" "$COUNT"
assert_eq "$(expected_reasons)" "$(actual_reasons)" "rejections by reason"
ends=$(kcat -C -b "$B" -t user_events -o -1 -e -q -f '%p %o\n' 2>"$T/kcat.log" | sort -n)
assert_eq "$COUNT" "$(awk '{s += $2 + 1} END {print s + 0}' <<<"$ends")" "messages in the log"
for group in sg-raw-store sg-stream-metrics; do
  assert_eq "$(awk '{print $1, $2 + 1}' <<<"$ends")" \
    "$(psql_q "SELECT partition || ' ' || next_offset FROM stream_offsets
               WHERE consumer_group = '$group' AND next_offset > 0 ORDER BY partition")" \
    "$group stored offsets = the log's end offsets"
done
assert_eq 0 "$(psql_q 'SELECT count(*) FROM offset_gaps')" "offset gaps"
assert_eq $((COUNT - INVALID)) "$(psql_q 'SELECT sum(total_events) FROM metrics_streaming_daily')" "events counted by streaming"
audit_lambda
