#!/usr/bin/env bash
# The benchmark peer "Kafka Connect + Debezium JDBC sink": what a user would
# run instead of sg-raw-store. Starts a Kafka Connect worker in standalone
# mode (Apache Kafka's jars from Maven Central, the Debezium JDBC sink as a
# plugin), lets it copy the N events preloaded on a topic into a table
# shaped like events_raw, and prints one JSON line of figures on stdout.
#
#   bench/peers/kafka-connect/run.sh --brokers HOST:PORT --topic T --events N --pg-db DB [options]
#
# Options:
#   --brokers HOST:PORT   a real Kafka broker (loopback)
#   --topic T             the topic holding the events (user_events v1 JSON)
#   --events N            messages on the topic (checked: the topic must hold N)
#   --pg-db DB            PostgreSQL database (the table is (re)created there)
#   --pg-host H           (default localhost)     --pg-port P  (default 5432)
#   --pg-owner ROLE       role that creates the table and that the sink
#                         writes as; its password is read from ~/.pgpass
#                         (or $PGPASSFILE) (default sg_owner)
#   --table NAME          (default events_connect; dropped and created anew)
#   --insert-mode M       upsert (default: INSERT ... ON CONFLICT (event_id)
#                         DO UPDATE) or insert (plain INSERT)
#   --pk yes|no           PRIMARY KEY (event_id) on the table (default: yes
#                         for upsert, no for insert, so that insert mode can
#                         show its duplicates instead of failing on them)
#   --types strict|lenient  strict (default): events_raw's column types (uuid,
#                         timestamptz); a message PostgreSQL rejects (a bad
#                         UUID or timestamp) stops the sink for good, and the
#                         run fails. lenient: event_id, user_id and
#                         event_timestamp as text, so such messages are stored
#   --kill9-at F          fault mode: kill -9 the worker once F (0..1) of the
#                         valid events are in the table, restart it, finish
#   --work DIR            work dir: configs, logs (default: a new
#                         /tmp/sg-peer-connect.XXXXXX, kept)
#   --timeout S           give up after S seconds of waiting (default 900)
#   --tasks N             sink tasks (default 1)
#   --batch-size N        the sink's batch.size and the consumer's
#                         max.poll.records (default 500, their defaults)
#   --jdbc-params P       extra JDBC URL parameters, e.g. reWriteBatchedInserts=true
#   --heap MB             worker JVM heap, -Xmx (default 2048, as
#                         connect-standalone.sh's -Xmx2G)
#   -h, --help
#
# Output (stdout, one line): {"events","rows","seconds_total",
# "seconds_first_to_last","rows_per_s","duplicates","missing","skipped",
# "killed","insert_mode","connect_version","sink_version", ...}; see
# README.md for each field. Logs go to stderr and the work dir. Exit 0 on
# success, 1 on failure (one line on stderr says why), 2 on a usage error.
#
# Jars are resolved once with Maven into $SG_CONNECT_CACHE (default
# ~/.cache/streamguard/connect-<kafka version>), outside the repository.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source=../../../config/kafka/versions.env
source "$ROOT/config/kafka/versions.env"
# shellcheck source=versions.env
source "$HERE/versions.env"
CACHE=${SG_CONNECT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamguard/connect-$KAFKA_VERSION}
PY="python3 $HERE/analyze.py"

usage() { sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; }
LOGFILE=""
say() {
  local line
  line="[kafka-connect peer $(date -u +%H:%M:%S)] $*"
  echo "$line" >&2
  if [ -n "$LOGFILE" ]; then echo "$line" >>"$LOGFILE"; fi
}
FAILED_MSG=""
die() { FAILED_MSG="$*"; exit 1; }
usage_error() { echo "kafka-connect peer: $*" >&2; usage >&2; exit 2; }

BROKERS="" TOPIC="" EVENTS="" PG_DB="" PG_HOST=localhost PG_PORT=5432 PG_OWNER=sg_owner
TABLE=events_connect INSERT_MODE=upsert PK="" TYPES=strict KILL_AT="" WORK="" TIMEOUT=900
TASKS=1 BATCH_SIZE=500 HEAP_MB=2048 JDBC_PARAMS=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) ;;
    -*) [ $# -ge 2 ] || usage_error "$1 needs a value" ;;
  esac
  case "$1" in
    --brokers) BROKERS=$2; shift 2 ;;
    --topic) TOPIC=$2; shift 2 ;;
    --events) EVENTS=$2; shift 2 ;;
    --pg-db) PG_DB=$2; shift 2 ;;
    --pg-host) PG_HOST=$2; shift 2 ;;
    --pg-port) PG_PORT=$2; shift 2 ;;
    --pg-owner) PG_OWNER=$2; shift 2 ;;
    --table) TABLE=$2; shift 2 ;;
    --insert-mode) INSERT_MODE=$2; shift 2 ;;
    --pk) PK=$2; shift 2 ;;
    --types) TYPES=$2; shift 2 ;;
    --kill9-at) KILL_AT=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --tasks) TASKS=$2; shift 2 ;;
    --batch-size) BATCH_SIZE=$2; shift 2 ;;
    --heap) HEAP_MB=$2; shift 2 ;;
    --jdbc-params) JDBC_PARAMS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[[ "$BROKERS" =~ ^[A-Za-z0-9._-]+:[0-9]+(,[A-Za-z0-9._-]+:[0-9]+)*$ ]] || usage_error "--brokers HOST:PORT is required"
[[ "$TOPIC" =~ ^[A-Za-z0-9._-]+$ ]] || usage_error "--topic is required (letters, digits, . _ -)"
[[ "$EVENTS" =~ ^[1-9][0-9]*$ ]] || usage_error "--events N is required (a positive number)"
[[ "$PG_DB" =~ ^[A-Za-z0-9_-]+$ ]] || usage_error "--pg-db is required (letters, digits, _ -)"
[[ "$PG_HOST" =~ ^[A-Za-z0-9._-]+$ ]] || usage_error "--pg-host: a host name"
[[ "$PG_PORT" =~ ^[0-9]+$ ]] || usage_error "--pg-port: a number"
[[ "$PG_OWNER" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || usage_error "--pg-owner: a role name"
[[ "$TABLE" =~ ^[a-z_][a-z0-9_]*$ ]] || usage_error "--table: a lower-case identifier"
case "$INSERT_MODE" in upsert|insert) ;; *) usage_error "--insert-mode: upsert or insert" ;; esac
[ -n "$PK" ] || { [ "$INSERT_MODE" = upsert ] && PK=yes || PK=no; }
case "$PK" in yes|no) ;; *) usage_error "--pk: yes or no" ;; esac
[ "$INSERT_MODE" = insert ] || [ "$PK" = yes ] || usage_error "upsert needs the primary key (--pk yes)"
case "$TYPES" in strict|lenient) ;; *) usage_error "--types: strict or lenient" ;; esac
[ -z "$KILL_AT" ] || python3 -c 'import sys; f=float(sys.argv[1]); sys.exit(0 if 0 < f < 1 else 1)' "$KILL_AT" 2>/dev/null \
  || usage_error "--kill9-at: a fraction between 0 and 1"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout: seconds"
[[ "$TASKS" =~ ^[1-9][0-9]*$ ]] || usage_error "--tasks: a positive number"
[[ "$BATCH_SIZE" =~ ^[1-9][0-9]*$ ]] || usage_error "--batch-size: a positive number"
[[ "$HEAP_MB" =~ ^[1-9][0-9]*$ ]] || usage_error "--heap: MiB"
[[ "$JDBC_PARAMS" =~ ^([A-Za-z][A-Za-z0-9]*=[A-Za-z0-9._-]+(&[A-Za-z][A-Za-z0-9]*=[A-Za-z0-9._-]+)*)?$ ]] \
  || usage_error "--jdbc-params: name=value[&name=value...]"
case "$JDBC_PARAMS" in *[Pp]assword*) usage_error "--jdbc-params: no password here" ;; esac

for tool in java kcat psql python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "kafka-connect peer: '$tool' is needed" >&2; exit 1; }
done

if [ -z "$WORK" ]; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-peer-connect.XXXXXX")
else
  mkdir -p "$WORK"
fi
WORK=$(cd "$WORK" && pwd)
case "$WORK" in *"'"*|*'"'*|*' '*|*:*) echo "kafka-connect peer: --work: no quotes, spaces or colons in the path" >&2; exit 2 ;; esac
mkdir -p "$WORK/tmp" "$WORK/logs"
LOGFILE=$WORK/logs/run.log
: >"$LOGFILE"
SECRETS=$WORK/secrets.properties
RUN_ID=$(date -u +%Y%m%d%H%M%S)-$$
NAME=sg-peer-connect-$RUN_ID   # connector name: consumer group connect-$NAME, new each run
DLQ=$TOPIC.connect-dlq.$RUN_ID
DSN="host=$PG_HOST port=$PG_PORT dbname=$PG_DB user=$PG_OWNER"
CONNECT_PID=""

# ------------------------------------------------------------------ cleanup
stop_worker() {
  local pid=$CONNECT_PID waited=0
  [ -n "$pid" ] || return 0
  CONNECT_PID=""
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
    waited=$((waited + 1))
    if [ "$waited" -ge 150 ]; then
      say "worker did not stop within 30 s: kill -9 $pid"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
  done
  wait "$pid" 2>/dev/null || true
}
on_exit() {
  local rc=$?
  stop_worker
  rm -f "$SECRETS"
  if [ "$rc" -ne 0 ]; then
    [ -n "$FAILED_MSG" ] || FAILED_MSG="failed (exit $rc); logs in $WORK/logs"
    [ -z "$LOGFILE" ] || echo "FAILED: $FAILED_MSG" >>"$LOGFILE"
    echo "kafka-connect peer: $FAILED_MSG" >&2
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'FAILED_MSG="interrupted"; exit 1' INT TERM

now() { date +%s.%N; }
elapsed() { python3 -c 'import sys; print("%.3f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DSN" "$@"; }

# ------------------------------------------------------------------ install
install_jars() {
  local want
  # Versions and the POMs' contents: a change of either resolves anew.
  want="kafka=$KAFKA_VERSION log4j=$KAFKA_LOG4J_VERSION debezium=$DEBEZIUM_VERSION hibernate=$HIBERNATE_VERSION"
  want="$want poms=$(cat "$HERE/connect.pom.xml" "$HERE/sink.pom.xml" | sha256sum | cut -c1-16)"
  if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$want" ]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "Maven ('mvn') is needed once, to resolve the jars (apt-get install maven)"
  mkdir -p "$(dirname "$CACHE")"
  (
    flock 9
    if [ -f "$CACHE/.complete" ] && [ "$(cat "$CACHE/.complete")" = "$want" ]; then exit 0; fi
    say "resolving Kafka Connect $KAFKA_VERSION and the Debezium JDBC sink $DEBEZIUM_VERSION into $CACHE (once)"
    rm -rf "$CACHE"
    mkdir -p "$CACHE"
    local plugin=org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies
    if ! mvn -B -q -f "$HERE/connect.pom.xml" "$plugin" \
          -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$KAFKA_LOG4J_VERSION" \
          -DincludeScope=runtime -DoutputDirectory="$CACHE/libs" >"$CACHE/mvn-connect.log" 2>&1; then
      tail -n 20 "$CACHE/mvn-connect.log" >&2
      echo "kafka-connect peer: Maven could not resolve connect-runtime $KAFKA_VERSION (log: $CACHE/mvn-connect.log)" >&2
      exit 1
    fi
    if ! mvn -B -q -f "$HERE/sink.pom.xml" "$plugin" \
          -Ddebezium.version="$DEBEZIUM_VERSION" -Dhibernate.version="$HIBERNATE_VERSION" \
          -DincludeScope=runtime -DoutputDirectory="$CACHE/plugins/debezium-connector-jdbc" \
          >"$CACHE/mvn-sink.log" 2>&1; then
      tail -n 20 "$CACHE/mvn-sink.log" >&2
      echo "kafka-connect peer: Maven could not resolve debezium-connector-jdbc $DEBEZIUM_VERSION (log: $CACHE/mvn-sink.log)" >&2
      exit 1
    fi
    ls "$CACHE/libs/connect-runtime-$KAFKA_VERSION.jar" \
       "$CACHE/plugins/debezium-connector-jdbc/debezium-connector-jdbc-$DEBEZIUM_VERSION.jar" >/dev/null
    echo "$want" >"$CACHE/.complete"
  ) 9>"$CACHE.lock" || die "could not resolve the jars (see above)"
}

# ------------------------------------------------------------------ configs
render() {  # render TEMPLATE OUT KEY=VALUE...: fills in @KEY@
  python3 - "$@" <<'PY'
import re, sys
src, out, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
text = open(src).read()
for p in pairs:
    k, v = p.split("=", 1)
    text = text.replace("@" + k + "@", v)
left = re.findall(r"@[A-Z_]+@", text)
if left:
    sys.exit("unfilled placeholders in %s: %s" % (src, left))
open(out, "w").write(text)
PY
}

write_configs() {
  local schema port
  schema=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",", ":")))' \
    "$HERE/value-schema.$TYPES.json")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  REST=http://127.0.0.1:$port
  render "$HERE/worker.properties.in" "$WORK/worker.properties" \
    "BROKERS=$BROKERS" "REST_PORT=$port" "WORK=$WORK" "OFFSET_FLUSH_MS=60000" \
    "PLUGIN_PATH=$CACHE/plugins" "SCHEMA_CONTENT=$schema" || die "cannot write worker.properties"
  render "$HERE/sink.properties.in" "$WORK/sink.properties" \
    "NAME=$NAME" "TASKS=$TASKS" "TOPIC=$TOPIC" "PG_HOST=$PG_HOST" "PG_PORT=$PG_PORT" "PG_DB=$PG_DB${JDBC_PARAMS:+?$JDBC_PARAMS}" \
    "PG_USER=$PG_OWNER" "SECRETS=$SECRETS" "TABLE=$TABLE" "INSERT_MODE=$INSERT_MODE" \
    "BATCH_SIZE=$BATCH_SIZE" "MAX_POLL_RECORDS=$BATCH_SIZE" "DLQ=$DLQ" \
    || die "cannot write sink.properties"
  cat >"$WORK/log4j2.properties" <<EOF
# Generated by run.sh: the worker's log, size-bounded.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $WORK/logs/connect.log
appender.file.filePattern = $WORK/logs/connect.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p [%t] %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
EOF
}

# ------------------------------------------------------------------ worker
start_worker() {
  # The JVM options of Kafka's bin/connect-standalone.sh and
  # kafka-run-class.sh (heap 256 MiB .. 2 GiB, G1), our temp dir.
  setsid java "-Xms256m" "-Xmx${HEAP_MB}m" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 \
    -Djava.awt.headless=true "-Djava.io.tmpdir=$WORK/tmp" \
    "-Dlog4j2.configurationFile=$WORK/log4j2.properties" \
    -cp "$CACHE/libs/*" org.apache.kafka.connect.cli.ConnectStandalone \
    "$WORK/worker.properties" "$WORK/sink.properties" \
    >>"$WORK/logs/connect.stdout" 2>&1 </dev/null &
  CONNECT_PID=$!
  say "worker started (pid $CONNECT_PID, REST $REST)"
}

worker_failure() {  # prints why the worker cannot go on, if it cannot
  local st why
  if ! kill -0 "$CONNECT_PID" 2>/dev/null; then
    # The last ERROR of its log (not the harmless CloudEventsConverter one
    # of every start), else the last line of its stdout (JVM errors).
    why=$(grep -E '] (ERROR|FATAL) ' "$WORK/logs/connect.log" 2>/dev/null \
          | grep -v 'Failed to discover Converter' | tail -n 1 | cut -c1-300)
    [ -n "$why" ] || why=$(tail -n 1 "$WORK/logs/connect.stdout" 2>/dev/null | cut -c1-300)
    echo "the Connect worker exited: ${why:-no reason logged}"
    return 0
  fi
  st=$(curl -s -m 2 "$REST/connectors/$NAME/status" 2>/dev/null) || return 1
  python3 - "$st" <<'PY' || return 1
import json, sys
try:
    st = json.loads(sys.argv[1])
except ValueError:
    sys.exit(1)
states = [st.get("connector", {})] + st.get("tasks", [])
for s in states:
    if s.get("state") == "FAILED":
        trace = (s.get("trace") or "").splitlines()
        causes = [l for l in trace if l.startswith("Caused by")]
        why = causes[-1] if causes else (trace[0] if trace else "?")  # the root cause
        print("the sink task FAILED: " + why.strip()[:400])
        sys.exit(0)
sys.exit(1)
PY
}

cpu_ticks() {  # user + system CPU ticks of a live process (0 when gone)
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

rows_now() { psql_q -c "SELECT count(*) FROM $TABLE" 2>/dev/null || echo 0; }

# ================================================================== main
say "work dir $WORK"
install_jars
$PY secrets --host "$PG_HOST" --port "$PG_PORT" --db "$PG_DB" --user "$PG_OWNER" --out "$SECRETS" \
  || die "no password for $PG_OWNER in ~/.pgpass (or \$PGPASSFILE)"
psql_q -c 'SELECT 1' >/dev/null 2>"$WORK/logs/psql.err" \
  || die "cannot connect to PostgreSQL as $PG_OWNER ($(head -c 300 "$WORK/logs/psql.err"))"

say "reading topic $TOPIC (contract check of every message)"
STRICT_FLAG=()
[ "$TYPES" = strict ] && STRICT_FLAG=(--strict)
TOPIC_SUMMARY=$($PY topic --brokers "$BROKERS" --topic "$TOPIC" --out "$WORK" "${STRICT_FLAG[@]}") \
  || die "cannot read topic $TOPIC from $BROKERS"
say "topic: $TOPIC_SUMMARY"
read -r MESSAGES VALID <<<"$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["messages"], s["distinct_valid_ids"])' "$WORK/topic.json")"
[ "$MESSAGES" = "$EVENTS" ] || die "topic $TOPIC holds $MESSAGES messages, --events says $EVENTS"
[ "$VALID" -gt 0 ] || die "topic $TOPIC holds no valid event"
# What tells that the sink is done (see analyze.py topic): per partition an
# anchor event_id, looked up in the table (an index lookup), and a tail of
# invalid messages, looked for in the table or the dead-letter topic.
read -r N_ANCHORS ID_LIST <<<"$(python3 - "$WORK/topic.json" <<'PY'
import json, sys
tracked = json.load(open(sys.argv[1]))["tracked"]
ids = [t["anchor"] for t in tracked if t["anchor"]]
ids += [m["event_id"] for t in tracked for m in t["tail"] if m["event_id"]]
print(sum(1 for t in tracked if t["anchor"]), ",".join("'" + i.replace("'", "''") + "'" for i in ids) or "NULL")
PY
)"
ANCHORS=$(python3 -c 'import json,sys; print(" ".join(t["anchor"] for t in json.load(open(sys.argv[1]))["tracked"] if t["anchor"]))' "$WORK/topic.json")
HAS_TAIL=$(python3 -c 'import json,sys; print(int(any(t["tail"] for t in json.load(open(sys.argv[1]))["tracked"])))' "$WORK/topic.json")

say "creating table $TABLE in $PG_DB (types $TYPES, primary key $PK)"
psql_q -v tbl="$TABLE" -v strict="$([ "$TYPES" = strict ] && echo true || echo false)" \
  -v pk="$([ "$PK" = yes ] && echo true || echo false)" -f "$HERE/table.sql" >"$WORK/logs/table.log" 2>&1 \
  || die "cannot create table $TABLE: $(grep -m1 ERROR "$WORK/logs/table.log")"

write_configs

KILL_ROWS=0
if [ -n "$KILL_AT" ]; then
  KILL_ROWS=$(python3 -c 'import math,sys; print(max(1, math.ceil(float(sys.argv[1]) * int(sys.argv[2]))))' "$KILL_AT" "$VALID")
fi
KILLED=false ROWS_AT_KILL=None T_KILL="" T_RESTART="" T_RESUMED=""

# Poll: the anchors (and tail ids) by event_id; the dead-letter topic only
# once every anchor is in, and then at most once a second.
is_done() {
  local found n t
  found=$(psql_q -c "SELECT DISTINCT lower(event_id::text) FROM $TABLE WHERE event_id IN ($ID_LIST)" 2>/dev/null) || return 1
  n=0
  for a in $ANCHORS; do grep -qxF "$a" <<<"$found" && n=$((n + 1)); done
  [ "$n" -eq "$N_ANCHORS" ] || return 1
  [ "$HAS_TAIL" = 1 ] || return 0
  t=$(date +%s)
  [ "$t" != "${LAST_DLQ_CHECK:-}" ] || return 1
  LAST_DLQ_CHECK=$t
  $PY done --state "$WORK/topic.json" --found "$found" --brokers "$BROKERS" --dlq "$DLQ" 2>/dev/null
}

say "starting Kafka Connect $KAFKA_VERSION (standalone) with the Debezium JDBC sink $DEBEZIUM_VERSION: topic $TOPIC -> $PG_DB.$TABLE, insert.mode=$INSERT_MODE"
T0=$(now)
start_worker
DEADLINE=$(( $(date +%s) + TIMEOUT ))
LAST_STATUS=0 LAST_PROGRESS=$(date +%s) CONNECT_VERSION="" SINK_VERSION="" PEAK_KB=0 CPU_DONE=0
while :; do
  ITER_START=$(date +%s%N)
  if is_done; then break; fi
  t=$(date +%s)
  if [ "$t" -ge "$DEADLINE" ]; then
    die "not done after ${TIMEOUT}s: $(rows_now) rows in $TABLE of $VALID valid events (logs in $WORK/logs)"
  fi
  if [ "$t" != "$LAST_STATUS" ]; then
    LAST_STATUS=$t
    if why=$(worker_failure); then die "$why ($(rows_now) rows in $TABLE; logs in $WORK/logs)"; fi
    if [ -z "$CONNECT_VERSION" ]; then
      CONNECT_VERSION=$(curl -s -m 2 "$REST/" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' 2>/dev/null || true)
      if [ -n "$CONNECT_VERSION" ]; then
        say "REST API up after $(elapsed "$T0" "$(now)") s"
        SINK_VERSION=$(curl -s -m 2 "$REST/connector-plugins" 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("class") == "io.debezium.connector.jdbc.JdbcSinkConnector":
        print(p.get("version", "")); break' 2>/dev/null || true)
      fi
    fi
    kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$CONNECT_PID/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -le "$PEAK_KB" ] || PEAK_KB=$kb
    if [ $((t - LAST_PROGRESS)) -ge 10 ]; then
      LAST_PROGRESS=$t
      say "progress: $(rows_now) rows"
    fi
  fi
  if [ "$KILLED" = true ] && [ -z "$T_RESUMED" ] && [ "$(rows_now)" -gt "$ROWS_AT_KILL" ]; then
    T_RESUMED=$(now)
    say "new rows again $(elapsed "$T_RESTART" "$T_RESUMED") s after the restart"
  fi
  if [ -n "$KILL_AT" ] && [ "$KILLED" = false ]; then
    rows=$(rows_now)
    if [ "$rows" -ge "$KILL_ROWS" ]; then
      T_KILL=$(now)
      CPU_DONE=$((CPU_DONE + $(cpu_ticks "$CONNECT_PID")))
      kill -9 "$CONNECT_PID" 2>/dev/null || true
      wait "$CONNECT_PID" 2>/dev/null || true
      ROWS_AT_KILL=$(rows_now)
      KILLED=true
      say "kill -9 of the worker (pid $CONNECT_PID) at $rows rows (>= $KILL_ROWS, $KILL_AT of $VALID); $ROWS_AT_KILL rows after it died; restarting"
      echo "----- kill -9 at $(date -u +%FT%TZ), restart -----" >>"$WORK/logs/connect.stdout"
      T_RESTART=$(now)
      start_worker
      continue
    fi
  fi
  iter_ms=$(( ($(date +%s%N) - ITER_START) / 1000000 ))
  [ "$iter_ms" -lt 2000 ] || say "(a poll took $iter_ms ms: the machine is busy)"
  sleep 0.25
done
T_DONE=$(now)
say "every partition's last message is processed after $(elapsed "$T0" "$T_DONE") s; stopping the worker"
kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$CONNECT_PID/status" 2>/dev/null || echo 0)
[ "${kb:-0}" -le "$PEAK_KB" ] || PEAK_KB=$kb
CPU_DONE=$((CPU_DONE + $(cpu_ticks "$CONNECT_PID")))
stop_worker

# ------------------------------------------------------------------ figures
psql_q -c "\\copy (SELECT event_id FROM $TABLE) TO '$WORK/table_ids.txt'" || die "cannot read the table's ids"
read -r ROWS DISTINCT_IDS DUPLICATES FIRST_ROW <<<"$(psql_q -F ' ' -c "
  SELECT count(*), count(DISTINCT event_id),
         count(*) - count(DISTINCT event_id),
         coalesce(extract(epoch FROM min(ingested_at)), 0)
  FROM $TABLE")"
FINAL=$($PY final --valid "$WORK/valid_ids.txt" --table-ids "$WORK/table_ids.txt") || die "cannot compare ids"
DLQ_SUMMARY=$($PY dlq --brokers "$BROKERS" --dlq "$DLQ") || die "cannot read the dead-letter topic $DLQ"
say "dead-letter topic $DLQ: $DLQ_SUMMARY"

python3 - "$WORK/topic.json" "$FINAL" "$DLQ_SUMMARY" "$WORK/logs/connect.log" <<PY
import datetime, json, re, sys
topic = json.load(open(sys.argv[1]))
final = json.loads(sys.argv[2])
dlq = json.loads(sys.argv[3])
t0, t_done, first = float("$T0"), float("$T_DONE"), float("$FIRST_ROW")
rows = int("$ROWS")
total = t_done - t0
f2l = t_done - first if first > 0 else None
t_kill, t_restart = "$T_KILL", "$T_RESTART"

def restart_to_assignment(path):
    """Seconds from the restarted worker's first log line to its task's
    partition assignment (the consumer group's rejoin), by the log's clock."""
    stamp = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]")
    starts, t_init, t_assigned = 0, None, None
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return None
    for line in lines:
        m = stamp.match(line)
        if not m:
            continue
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f")
        if "Kafka Connect worker initializing" in line:
            starts += 1
            t_init, t_assigned = t, None
        elif "Adding newly assigned partitions" in line and t_assigned is None:
            t_assigned = t
    if starts < 2 or t_init is None or t_assigned is None:
        return None
    return round((t_assigned - t_init).total_seconds(), 3)
out = {
    "events": int("$EVENTS"),
    "rows": rows,
    "seconds_total": round(total, 3),
    "seconds_first_to_last": round(f2l, 3) if f2l is not None else None,
    "rows_per_s": round(rows / f2l, 1) if f2l else None,
    "rows_per_s_total": round(rows / total, 1) if total > 0 else None,
    "duplicates": final["duplicates"],
    "duplicate_rows_all": int("$DUPLICATES"),
    "missing": final["missing"],
    "skipped": dlq["count"],
    "dlq_records": dlq["records"],
    "killed": "$KILLED" == "true",
    "insert_mode": "$INSERT_MODE",
    "connect_version": "$CONNECT_VERSION" or "$KAFKA_VERSION",
    "sink_version": "$SINK_VERSION" or "$DEBEZIUM_VERSION",
    "types": "$TYPES",
    "primary_key": "$PK" == "yes",
    "valid_events": topic["distinct_valid_ids"],
    "invalid_events": topic["invalid"],
    "stored_invalid": final["stored_invalid_ids"],
    "distinct_event_ids": int("$DISTINCT_IDS"),
    "seconds_to_first_row": round(first - t0, 3) if first > 0 else None,
    "rows_at_kill": $ROWS_AT_KILL,
    "seconds_kill_to_restart": round(float(t_restart) - float(t_kill), 3) if t_kill else None,
    "seconds_restart_to_new_rows": round(float("$T_RESUMED") - float(t_restart), 3) if "$T_RESUMED" else None,
    "seconds_restart_to_assignment": restart_to_assignment(sys.argv[4]) if t_kill else None,
    "jvm_peak_rss_mb": round(int("$PEAK_KB") / 1024),
    "jvm_cpu_seconds": round(int("$CPU_DONE") / int("$(getconf CLK_TCK)"), 1),
    "heap_max_mb": int("$HEAP_MB"),
    "tasks": int("$TASKS"),
    "batch_size": int("$BATCH_SIZE"),
    "jdbc_params": "$JDBC_PARAMS",
    "skipped_by_error": dlq["by_error"],
    "work": "$WORK",
}
print(json.dumps(out))
PY
