#!/usr/bin/env bash
# The README's first command: set everything up, then run the main job end to
# end on the embedded default (local PostgreSQL + sg-broker):
#   seed users -> sg-broker -> sg-raw-store -> sg-generate -> what landed.
# Options: --events N (default 20000), --invalid-ratio F (default 0.01).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVENTS=20000
INVALID=0.01
while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS=$2; shift 2 ;;
    --invalid-ratio) INVALID=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done

"$ROOT/scripts/setup.sh"
BIN=$ROOT/build/bin
RUN=$ROOT/.sg/demo
mkdir -p "$RUN"
export SG_BROKER_FILE=$RUN/broker.addr
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
sql() { psql -X -q -w "host=localhost dbname=streamguard user=sg_analytics" "$@"; }

step "starting sg-broker (embedded Kafka-protocol broker), logs in $RUN/"
"$BIN/sg-broker" --partitions 6 >"$RUN/broker.out" 2>"$RUN/broker.log" &
PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$SG_BROKER_FILE" ] && break; sleep 0.1; done
echo "bootstrap: $(cat "$SG_BROKER_FILE")"

step "seeding 1,000 synthetic users (PII in users_pii only)"
"$BIN/sg-seed-users" --users 1000 --seed 42

step "starting sg-raw-store (consumer group sg-raw-store)"
"$BIN/sg-raw-store" --idle-exit 4 --progress-interval 2 2>"$RUN/raw-store.log" &
RAW=$!
PIDS+=($RAW)

step "generating $EVENTS events ($INVALID of them invalid on purpose)"
"$BIN/sg-generate" --count "$EVENTS" --invalid-ratio "$INVALID" --seed "$(date +%s)" >"$RUN/generate.json"
cat "$RUN/generate.json"

step "waiting for sg-raw-store to drain the topic"
wait "$RAW"
grep -E "final|exit status" "$RUN/raw-store.log" | sed 's/^/  /'

step "what landed (queried as the read-only sg_analytics role)"
sql -c "SELECT event_type, count(*) AS events, sum(amount) AS revenue
          FROM events_raw GROUP BY 1 ORDER BY 2 DESC"
sql -c "SELECT reason, count(*) AS rejected FROM events_rejected GROUP BY 1 ORDER BY 2 DESC"
sql -c "SELECT consumer_group, partition, next_offset FROM stream_offsets ORDER BY 1, 2"
step "and the analytics role cannot read personal data:"
sql -c "SELECT email FROM users_pii LIMIT 1" 2>&1 | head -1 || true
echo
echo "Done. Run each daemon in its own terminal as the README shows; logs of this run are in $RUN/."
