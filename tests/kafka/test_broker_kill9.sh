#!/usr/bin/env bash
# The broker itself killed with SIGKILL twice mid-run and restarted on the
# same data and port, while sg-generate produces 100,000 events and both
# consumers run. Nobody is restarted but the broker: the generator and the
# consumers recover by themselves (each logs that Kafka is reachable
# again). Nothing is lost, nothing doubled: the idempotent producer's
# acknowledgements are asserted (every acknowledged event is in the log,
# none twice), then the whole exactly-once audit.
source "$(dirname "$0")/../integration/lib.sh"

COUNT=100000
db_create
broker_start 6
seed_users 500 42
bg raw sg-raw-store --progress-interval 1; RAW=$LAST_PID
bg sm sg-stream-metrics --progress-interval 1; SM=$LAST_PID
sg-generate --count "$COUNT" --rate 2000 --invalid-ratio 0.01 --days 2 --seed 808 \
  >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
rows() { psql_q 'SELECT count(*) FROM events_raw'; }
more_rows_than() { [ "$(rows)" -gt "$1" ]; }
# Each kill lands once the consumers store events again: 2,000 more rows
# than when the broker was last (re)started.
since=0
for round in 1 2; do
  wait_until 90 more_rows_than $((since + 2000)) || fail "no new rows before broker kill $round"
  sleep 2
  kill -0 "$GEN" 2>/dev/null || fail "the generator finished before broker kill $round: it must land mid-run"
  log "broker kill -9 (round $round) at $(rows) rows"
  kafka_restart kill
  since=$(rows)
  log "broker back (pid $BROKER_PID) at $since rows"
done
wait "$GEN" || { tail -5 "$T/generate.log" >&2; fail "sg-generate did not deliver everything"; }
cp "$T/gen.json" "$T/gen-all.json"
kill -0 "$RAW" && kill -0 "$SM" || fail "a consumer died with the broker"
pass "both consumers survived two broker kills"
for name in raw sm generate; do
  grep -q "kafka reachable again" "$T/$name.log" || fail "$name never logged that Kafka was reachable again"
done
pass "every client logged its recovery"
drain_and_stop "$COUNT" "$RAW" "$SM"
audit_exactly_once "$COUNT"
