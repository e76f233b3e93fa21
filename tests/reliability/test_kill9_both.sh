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
  sg_kill9 "$pid"
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
# more --idle-exit run of each finds nothing left. Then the whole audit.
drain_and_stop "$COUNT" "$RAW" "$SM"
assert_eq $((COUNT / 100)) "$(jq .invalid "$T/gen.json")" "invalid events generated"
audit_exactly_once "$COUNT"
