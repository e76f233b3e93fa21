# Shared harness for the integration tests: each test gets its own
# database (created by sg_owner, migrated with sg-migrate), its own broker
# and its own temp folder, and cleans them up at exit.
# Sourced by tests/*/test_*.sh; runs real binaries only.
#
# The broker: SG_TEST_BROKER=embedded (sg-broker, librdkafka's mock
# cluster; the default) or kafka (a real Apache Kafka started by
# scripts/kafka.sh in the test's folder). A test script says which it can
# run on in a header line that tests/CMakeLists.txt reads:
#   # sg-test-brokers: embedded kafka
# (default: embedded; a test that needs sg-broker's fault injection says
# why). SG_TEST_KAFKA=off skips the real-broker lane (exit 77: ctest
# reports the tests as skipped).
set -euo pipefail

SG_SRC=${SG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SG_BIN=${SG_BIN:-$SG_SRC/build/bin}
TEST_NAME=$(basename "$0" .sh)
SG_TEST_BROKER=${SG_TEST_BROKER:-embedded}
SG_TEST_TMP=${SG_TEST_TMP:-/tmp/sg-it}
# A test runs in both lanes at once: folders and databases per lane.
T=$SG_TEST_TMP/$SG_TEST_BROKER/$TEST_NAME
rm -rf "$T"; mkdir -p "$T"
export PATH="$SG_BIN:$PATH"
export SG_BROKER_FILE=$T/broker.addr
SG_LOGDIR=$T
SG_KAFKA_DIR=$T/kafka
# shellcheck source=../../scripts/sg-lib.sh
source "$SG_SRC/scripts/sg-lib.sh"
sg_die() { fail "$*"; }
PGHOST_TEST=${PGHOST:-localhost}
# SG_TEST_DB_PREFIX keeps two suites on one PostgreSQL apart (their
# databases are named after the test).
if [ "$SG_TEST_BROKER" = kafka ]; then TEST_DB=${SG_TEST_DB_PREFIX:-}sgk_${TEST_NAME#test_}; else TEST_DB=${SG_TEST_DB_PREFIX:-}sgit_${TEST_NAME#test_}; fi
OWNER_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_owner"
export PG_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_writer"
ANALYTICS_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_analytics"
unset KAFKA_BOOTSTRAP_SERVERS
# The consumers' session timeout on this broker (consumers/engine.c): how
# long a member killed with SIGKILL keeps its partitions.
case "$SG_TEST_BROKER" in
  embedded) SESSION_S=6 ;;
  kafka) SESSION_S=10 ;;
  *) echo "SG_TEST_BROKER must be embedded or kafka" >&2; exit 2 ;;
esac
KAFKA_SET=()   # broker_start: extra "--set key=value" for scripts/kafka.sh
CHECKS=0

log() { printf '[%s %s/%s] %s\n' "$(date +%H:%M:%S)" "$SG_TEST_BROKER" "$TEST_NAME" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); log "ok: $*"; }

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
  if [ "$1" != "$2" ]; then fail "$3: expected '$1', got '$2'"; fi
  pass "$3 = $1"
}

cleanup() {
  local rc=$?
  sg_stop_all
  if [ "$SG_TEST_BROKER" = kafka ] && [ -f "$SG_KAFKA_DIR/kafka.pid" ]; then
    kill -CONT "$(cat "$SG_KAFKA_DIR/kafka.pid")" 2>/dev/null || true
    sg_broker_stop
    [ "$rc" -ne 0 ] || [ -n "${SG_KEEP:-}" ] || rm -rf "$SG_KAFKA_DIR/data"
  fi
  if [ "$rc" -eq 0 ] && [ -z "${SG_KEEP:-}" ]; then
    sg_db_drop "$TEST_DB"
  else
    log "logs and database $TEST_DB kept for inspection in $T"
  fi
  if [ "$rc" -eq 77 ]; then
    echo "$TEST_NAME: skipped ($SG_TEST_BROKER lane off)"
  elif [ "$rc" -eq 0 ]; then
    echo "$TEST_NAME: $CHECKS passed, 0 failed ($SG_TEST_BROKER broker)"
  else
    echo "$TEST_NAME: $CHECKS passed, 1 failed"
  fi
}
trap cleanup EXIT
if [ "$SG_TEST_BROKER" = kafka ] && [ "${SG_TEST_KAFKA:-on}" = off ]; then
  log "skipped: SG_TEST_KAFKA=off turns the real-broker lane off"
  exit 77
fi

# psql as the owner of the test database: psql_q "SQL" prints bare values.
psql_q() { psql -X -q -w -At -v ON_ERROR_STOP=1 "$OWNER_DSN" -c "$1"; }

db_create() { sg_db_create "$TEST_DB"; }
kafka_sh() { sg_kafka_sh "$@"; }

# broker_start [partitions]: starts this test's broker (sg-broker, or a
# real Apache Kafka with user_events and privacy_erasures of that many
# partitions) and waits until it answers; sets BROKERS and BROKER_PID.
broker_start() {
  # Tests run side by side: a real broker takes a random free port.
  sg_broker_start "$SG_TEST_BROKER" "${1:-6}" --port auto "${KAFKA_SET[@]}"
  [ "$SG_TEST_BROKER" = embedded ] || log "Apache Kafka $(sed -n 's/^kafka_version=//p' "$SG_BROKER_FILE") at $BROKERS"
}

# kafka_restart: kill -9 (or stop, with "stop") then start the test's real
# broker on the same data and port.
kafka_restart() {
  [ "$SG_TEST_BROKER" = kafka ] || fail "kafka_restart needs the real broker"
  if [ "${1:-kill}" = kill ]; then
    kill -9 "$BROKER_PID"
    while kill -0 "$BROKER_PID" 2>/dev/null; do sleep 0.1; done
  else
    kafka_sh stop >>"$T/kafka.log" 2>&1
  fi
  kafka_sh "${KAFKA_SET[@]}" start >>"$T/kafka.out" 2>>"$T/kafka.log" || { tail -20 "$T/kafka.log" >&2; fail "Apache Kafka did not restart"; }
  BROKER_PID=$(cat "$SG_KAFKA_DIR/kafka.pid")
}

# broker_down / broker_up: the broker goes away and comes back (sg-broker:
# its mock broker down and up through the control channel; Apache Kafka: a
# controlled stop, then a start on the same data and port).
broker_down() {
  if [ "$SG_TEST_BROKER" = kafka ]; then kafka_sh stop >>"$T/kafka.log" 2>&1
  else echo "down 1" >"$SG_BROKER_FILE.ctl"; fi
}
broker_up() {
  if [ "$SG_TEST_BROKER" = kafka ]; then
    kafka_sh "${KAFKA_SET[@]}" start >>"$T/kafka.out" 2>>"$T/kafka.log" || fail "Apache Kafka did not restart"
    BROKER_PID=$(cat "$SG_KAFKA_DIR/kafka.pid")
  else echo "up 1" >"$SG_BROKER_FILE.ctl"; fi
}

# only_on BROKER REASON: this test (or the rest of it) needs BROKER.
only_on() {
  [ "$SG_TEST_BROKER" = "$1" ] || { log "not on $SG_TEST_BROKER: $2"; exit 1; }
}

# bg NAME CMD... (output in $T/NAME.out and .log; LAST_PID), wait_pid
# PID TIMEOUT_S (its exit status), wait_until TIMEOUT_S CMD...: see
# scripts/sg-lib.sh.
bg() { sg_bg "$@"; }
wait_pid() { sg_wait_pid "$@"; }
wait_until() { sg_wait_until "$@"; }

seed_users() { sg-seed-users --users "${1:-500}" --seed "${2:-42}" 2>>"$T/seed.log" >/dev/null; }

# generate ARGS...: runs sg-generate to completion; its JSON summary goes to
# $T/gen.json (appended per run to $T/gen-all.json).
generate() {
  sg-generate "$@" >"$T/gen.json" 2>>"$T/generate.log" || { tail -5 "$T/generate.log" >&2; fail "sg-generate $*"; }
  cat "$T/gen.json" >>"$T/gen-all.json"
}

# The audit every exactly-once test ends with. Args: expected valid,
# expected invalid, expected total offsets, consumer group.
audit_raw_store() {
  local valid=$1 invalid=$2 total=$3 group=${4:-sg-raw-store}
  assert_eq "$valid" "$(psql_q 'SELECT count(*) FROM events_raw')" "events_raw rows"
  assert_eq "$valid" "$(psql_q 'SELECT count(DISTINCT event_id) FROM events_raw')" "distinct event ids"
  assert_eq "$invalid" "$(psql_q 'SELECT count(*) FROM events_rejected')" "events_rejected rows"
  assert_eq "0" "$(psql_q 'SELECT count(*) FROM events_duplicates')" "duplicates"
  assert_eq "$total" "$(psql_q "SELECT coalesce(sum(next_offset),0) FROM stream_offsets WHERE consumer_group = '$group'")" \
    "sum of stored next offsets ($group)"
  # Every offset ends as exactly one of stored, rejected, duplicate.
  assert_eq "0" "$(psql_q "
    WITH seen AS (
      SELECT kafka_partition p, kafka_offset o FROM events_raw
      UNION ALL SELECT kafka_partition, kafka_offset FROM events_rejected
      UNION ALL SELECT kafka_partition, kafka_offset FROM events_duplicates),
    per AS (SELECT p, count(*) n, count(DISTINCT o) d, max(o) mx FROM seen GROUP BY p)
    SELECT count(*) FROM stream_offsets s FULL JOIN per ON per.p = s.partition
     WHERE s.consumer_group = '$group' AND
           (per.n IS DISTINCT FROM s.next_offset OR per.d <> per.n OR per.mx + 1 <> s.next_offset)")" \
    "partitions whose offsets are not each accounted for exactly once"
}

# Expected reason counts from the generator's summaries, as "reason n" lines.
expected_reasons() {
  jq -rs '[.[].invalid_by_reason | to_entries[]] | group_by(.key)
          | map("\(.[0].key) \(map(.value) | add)")[]' "$T/gen-all.json" \
    | awk '$2 > 0' | sort
}
actual_reasons() { psql_q "SELECT reason || ' ' || count(*) FROM events_rejected GROUP BY reason ORDER BY 1"; }

# The second half of every reliability audit: batch recomputed from
# events_raw equals what the streaming path counted.
audit_lambda() {
  sg-batch-metrics --all >"$T/batch.out" 2>"$T/batch.log" || fail "sg-batch-metrics --all"
  rc_of sg-compare --all >"$T/compare.out" 2>"$T/compare.log"
  [ "$RC" -eq 0 ] || cat "$T/compare.out" >&2
  assert_eq 0 "$RC" "sg-compare --all exit status"
}

# pg_restart fast|immediate: restarts the local cluster the tests use.
pg_restart() {
  local cluster ver name
  cluster=$(pg_lsclusters -h | awk -v p="${PGPORT:-5432}" '$3 == p' | head -1)
  read -r ver name _ <<<"$cluster"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- pg_ctlcluster "$ver" "$name" restart -m "$1"
  else
    sudo -u postgres pg_ctlcluster "$ver" "$name" restart -m "$1"
  fi
  wait_until 60 pg_isready -q -h localhost || fail "PostgreSQL did not come back"
}

# log_ends: "partition end_offset" per partition of user_events (or $1),
# from the broker.
log_ends() {
  kcat -C -b "$BROKERS" -t "${1:-user_events}" -o -1 -e -q -f '%p %o\n' 2>>"$T/kcat.log" \
    | awk '{print $1, $2 + 1}' | sort -n
}

# caught_up COUNT: both groups' stored offsets add up to COUNT.
stored_sum() { psql_q "SELECT coalesce(sum(next_offset), 0) FROM stream_offsets WHERE consumer_group = '$1'"; }
caught_up() { [ "$(stored_sum sg-raw-store)" = "$1" ] && [ "$(stored_sum sg-stream-metrics)" = "$1" ]; }

# audit_offsets_at ENDS: both groups' stored offsets are ENDS ("partition
# end_offset" lines, as log_ends prints them): each read every partition
# to its end.
audit_offsets_at() {
  local group
  for group in sg-raw-store sg-stream-metrics; do
    assert_eq "$1" \
      "$(psql_q "SELECT partition || ' ' || next_offset FROM stream_offsets
                 WHERE consumer_group = '$group' AND next_offset > 0 ORDER BY partition")" \
      "$group stored offsets = the log's end offsets"
  done
}

# audit_minutes: sg-stream-metrics' events per minute of event time
# (metrics_streaming_minute, sql/016) equal events_raw counted by UTC
# minute, for every minute of the last 7 days (the table's period; a
# minute that recent was never pruned nor skipped), and both hold some.
audit_minutes() {
  local n
  n=$(psql_q "SELECT count(*) FROM metrics_streaming_minute WHERE minute >= now() - interval '7 days'")
  [ "$n" -gt 0 ] || fail "metrics_streaming_minute holds no minute of the last 7 days"
  assert_eq 0 "$(psql_q "
    WITH k AS (SELECT now() - interval '7 days' AS lo),
    r AS (SELECT date_trunc('minute', event_timestamp, 'UTC') AS minute, count(*) AS n
            FROM events_raw, k WHERE event_timestamp >= k.lo - interval '1 minute' GROUP BY 1),
    m AS (SELECT minute, events AS n FROM metrics_streaming_minute)
    SELECT count(*) FROM r FULL JOIN m USING (minute), k
     WHERE minute >= k.lo AND r.n IS DISTINCT FROM m.n")" \
    "minutes whose streaming count differs from events_raw's ($n minutes)"
}

# audit_exactly_once COUNT: the whole audit of a run of COUNT generated
# events (summary in $T/gen.json) through sg-raw-store and
# sg-stream-metrics: the producer's acknowledgements (delivered = COUNT,
# and the log holds exactly COUNT messages: every acknowledged event is in
# it, none twice), stored + rejected = every offset of the log, both
# groups' stored offsets = the log's end offsets, streaming counted every
# valid event once, batch = streaming.
audit_exactly_once() {
  local count=$1 invalid ends
  assert_eq "$count" "$(jq .delivered "$T/gen.json")" "events acknowledged to the producer"
  assert_eq 0 "$(jq .failed "$T/gen.json")" "events the producer reports not delivered"
  ends=$(log_ends)
  assert_eq "$count" "$(awk '{s += $2} END {print s + 0}' <<<"$ends")" \
    "messages in the log (every acknowledged event, none twice)"
  invalid=$(jq .invalid "$T/gen.json")
  audit_raw_store $((count - invalid)) "$invalid" "$count"
  assert_eq "$(expected_reasons)" "$(actual_reasons)" "rejections by reason"
  audit_offsets_at "$ends"
  assert_eq 0 "$(psql_q 'SELECT count(*) FROM offset_gaps')" "offset gaps"
  assert_eq $((count - invalid)) "$(psql_q 'SELECT coalesce(sum(total_events), 0) FROM metrics_streaming_daily')" \
    "events counted by streaming"
  audit_minutes
  audit_lambda
}

# drain_and_stop COUNT RAW_PID SM_PID: waits until both groups have stored
# COUNT offsets, stops both on SIGTERM (exit 0 expected), then checks that
# a final --idle-exit run of each finds nothing left.
drain_and_stop() {
  local count=$1 raw=$2 sm=$3 rc p1 p2
  wait_until 240 caught_up "$count" \
    || fail "consumers did not reach the end of the log: raw $(stored_sum sg-raw-store), metrics $(stored_sum sg-stream-metrics) of $count"
  kill -TERM "$raw" "$sm"
  rc=0; wait "$raw" || rc=$?; assert_eq 0 "$rc" "sg-raw-store exit status (SIGTERM)"
  rc=0; wait "$sm" || rc=$?; assert_eq 0 "$rc" "sg-stream-metrics exit status (SIGTERM)"
  bg raw.final sg-raw-store --idle-exit 2; p1=$LAST_PID
  bg sm.final sg-stream-metrics --idle-exit 2; p2=$LAST_PID
  rc=0; wait_pid "$p1" 120 || rc=$?; assert_eq 0 "$rc" "final sg-raw-store --idle-exit exit status"
  rc=0; wait_pid "$p2" 120 || rc=$?; assert_eq 0 "$rc" "final sg-stream-metrics --idle-exit exit status"
  grep -q "exit status=0 stored=0 rejected=0 duplicates=0" "$T/raw.final.log" || fail "final sg-raw-store found events left"
  grep -q "exit status=0 counted=0 " "$T/sm.final.log" || fail "final sg-stream-metrics found events left"
  pass "nothing left for the final --idle-exit runs"
}
