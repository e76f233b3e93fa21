# Shared harness for the integration tests: each test gets its own
# database (created by sg_owner, migrated with sg-migrate), its own
# sg-broker and its own temp folder, and cleans them up at exit.
# Sourced by tests/integration/test_*.sh; runs real binaries only.
set -euo pipefail

SG_SRC=${SG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SG_BIN=${SG_BIN:-$SG_SRC/build/bin}
TEST_NAME=$(basename "$0" .sh)
SG_TEST_TMP=${SG_TEST_TMP:-/tmp/sg-it}
T=$SG_TEST_TMP/$TEST_NAME
rm -rf "$T"; mkdir -p "$T"
export PATH="$SG_BIN:$PATH"
export SG_BROKER_FILE=$T/broker.addr
PGHOST_TEST=${SG_TEST_PGHOST:-localhost}
TEST_DB=sgit_${TEST_NAME#test_}
OWNER_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_owner"
export PG_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_writer"
ANALYTICS_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_analytics"
unset KAFKA_BOOTSTRAP_SERVERS
SG_PIDS=()
CHECKS=0

log() { printf '[%s %s] %s\n' "$(date +%H:%M:%S)" "$TEST_NAME" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
pass() { CHECKS=$((CHECKS + 1)); log "ok: $*"; }

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
  if [ "$1" != "$2" ]; then fail "$3: expected '$1', got '$2'"; fi
  pass "$3 = $1"
}

cleanup() {
  local rc=$?
  for pid in "${SG_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SG_PIDS[@]:-}"; do
    [ -n "$pid" ] && { timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true; }
  done
  if [ "$rc" -eq 0 ] && [ -z "${SG_KEEP:-}" ]; then
    psql -X -q -w "host=$PGHOST_TEST dbname=postgres user=sg_owner" \
      -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" >/dev/null 2>&1 || true
  else
    log "logs and database $TEST_DB kept for inspection in $T"
  fi
  if [ "$rc" -eq 0 ]; then
    echo "$TEST_NAME: $CHECKS passed, 0 failed"
  else
    echo "$TEST_NAME: $CHECKS passed, 1 failed"
  fi
}
trap cleanup EXIT

# psql as the owner of the test database: psql_q "SQL" prints bare values.
psql_q() { psql -X -q -w -At -v ON_ERROR_STOP=1 "$OWNER_DSN" -c "$1"; }

db_create() {
  psql -X -q -w -v ON_ERROR_STOP=1 "host=$PGHOST_TEST dbname=postgres user=sg_owner" \
    -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" -c "CREATE DATABASE $TEST_DB" >/dev/null
  sg-migrate --dsn "$OWNER_DSN" 2>"$T/migrate.log" || { cat "$T/migrate.log" >&2; fail "migrations"; }
}

# broker_start [partitions]: starts sg-broker, waits for its address file.
broker_start() {
  rm -f "$SG_BROKER_FILE"
  sg-broker --partitions "${1:-6}" >"$T/broker.out" 2>"$T/broker.log" &
  SG_PIDS+=($!)
  BROKER_PID=$!
  for _ in $(seq 1 100); do [ -s "$SG_BROKER_FILE" ] && break; sleep 0.1; done
  [ -s "$SG_BROKER_FILE" ] || fail "sg-broker did not start"
  BROKERS=$(head -1 "$SG_BROKER_FILE")  # line 2 is the run id
}

# bg NAME CMD...: runs a binary in the background, logs to $T/NAME.log;
# sets LAST_PID.
bg() {
  local name=$1; shift
  "$@" >>"$T/$name.out" 2>>"$T/$name.log" &
  LAST_PID=$!
  SG_PIDS+=($LAST_PID)
}

# wait_pid PID TIMEOUT_S: waits for a process to end; returns its status.
wait_pid() {
  local pid=$1 limit=$2 waited=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; waited=$((waited + 1))
    [ "$waited" -lt "$limit" ] || { kill -9 "$pid" 2>/dev/null; fail "pid $pid still running after ${limit}s"; }
  done
  wait "$pid"
}

# wait_until TIMEOUT_S CMD...: polls CMD until it succeeds.
wait_until() {
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 2))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

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
  set +e; sg-compare --all >"$T/compare.out" 2>"$T/compare.log"; local rc=$?; set -e
  [ "$rc" -eq 0 ] || cat "$T/compare.out" >&2
  assert_eq 0 "$rc" "sg-compare --all exit status"
}

# pg_restart fast|immediate: restarts the local cluster the tests use.
pg_restart() {
  local cluster ver name
  cluster=$(pg_lsclusters -h | awk '$3 == 5432' | head -1)
  read -r ver name _ <<<"$cluster"
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- pg_ctlcluster "$ver" "$name" restart -m "$1"
  else
    sudo -u postgres pg_ctlcluster "$ver" "$name" restart -m "$1"
  fi
  wait_until 60 pg_isready -q -h localhost || fail "PostgreSQL did not come back"
}
