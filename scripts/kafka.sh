#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft, broker + controller in one JVM,
# loopback only) from Maven Central's jars: no tarball, no Docker.
#
#   scripts/kafka.sh [options] install   resolve the jars (once) and stop
#   scripts/kafka.sh [options] start     install if needed, start, create topics
#   scripts/kafka.sh [options] stop      controlled shutdown of the broker we started
#   scripts/kafka.sh [options] status    what runs where
#   scripts/kafka.sh [options] logs [-f] the broker log's tail (-f: follow)
#
# Options:
#   --dir DIR          data, logs and state (default $SG_KAFKA_DIR, else .sg/kafka
#                      under the project root)
#   --port N|auto      client port (default: the one this DIR used before, else
#                      9092 when free, else a free one; auto: a free one in
#                      20000-32000, never 9092: for tests and benchmarks that
#                      start several brokers at once)
#   --partitions N     partitions of user_events when it is created (default 6)
#   --addr-file PATH   where the bootstrap address is written for the tools
#                      (default $SG_BROKER_FILE, else /tmp/sg-broker-<uid>.addr:
#                      the file sg-broker writes, so every tool finds either)
#   --heap MB          JVM heap (default 512)
#   --set KEY=VALUE    an extra broker setting for this start (repeatable), e.g.
#                      --set log.retention.check.interval.ms=1000
#
# The version is pinned in config/kafka/versions.env; the broker settings
# are config/kafka/broker.properties. Jars are cached outside the project in
# $SG_KAFKA_CACHE (default ~/.cache/streamguard/kafka-<version>).
# Restarting keeps the data: it is a real broker. `stop` then `start` on
# the same DIR brings the same cluster back on the same port.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../config/kafka/versions.env
source "$ROOT/config/kafka/versions.env"

DIR=${SG_KAFKA_DIR:-$ROOT/.sg/kafka}
PORT=""
PARTITIONS=6
ADDR_FILE=${SG_BROKER_FILE:-/tmp/sg-broker-$(id -u).addr}
HEAP_MB=512
CACHE=${SG_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/streamguard/kafka-$KAFKA_VERSION}
SG_BIN=${SG_BIN:-$ROOT/build/bin}
START_TIMEOUT=${SG_KAFKA_START_TIMEOUT:-90}

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "kafka.sh: $*" >&2; exit 1; }
say() { echo "kafka.sh: $*" >&2; }

cmd=""
follow=0
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --partitions) PARTITIONS=$2; shift 2 ;;
    --addr-file) ADDR_FILE=$2; shift 2 ;;
    --heap) HEAP_MB=$2; shift 2 ;;
    --set)
      [[ "$2" =~ ^[a-z][a-z0-9._-]*=.*$ ]] || { echo "kafka.sh: --set needs key=value, got '$2'" >&2; exit 2; }
      EXTRA+=("$2"); shift 2 ;;
    -f) follow=1; shift ;;
    -h|--help) usage; exit 0 ;;
    install|start|stop|status|logs)
      [ -z "$cmd" ] || { echo "kafka.sh: one command at a time" >&2; usage >&2; exit 2; }
      cmd=$1; shift ;;
    *) echo "kafka.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[ -n "$cmd" ] || { usage >&2; exit 2; }
[[ "$PARTITIONS" =~ ^[1-9][0-9]*$ ]] || { echo "kafka.sh: --partitions must be a positive number" >&2; exit 2; }
[[ "$HEAP_MB" =~ ^[1-9][0-9]*$ ]] || { echo "kafka.sh: --heap must be a number of MiB" >&2; exit 2; }
[ -z "$PORT" ] || [ "$PORT" = auto ] || [[ "$PORT" =~ ^[1-9][0-9]*$ ]] || { echo "kafka.sh: --port must be a number or auto" >&2; exit 2; }
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
PIDFILE=$DIR/kafka.pid
STATE=$DIR/state.env       # PORT, CONTROLLER_PORT, CLUSTER_ID of this DIR
CONF=$DIR/config/server.properties
LOG=$DIR/logs/server.log

# ------------------------------------------------------------------ install
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_install() {
  say "installing $* (apt)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

java_major() {
  java -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {print $2}' | cut -d. -f1
}

install_kafka() {
  local need=()
  command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ] 2>/dev/null \
    || need+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || need+=(maven)
  if [ ${#need[@]} -gt 0 ]; then
    apt_install "${need[@]}" || die "cannot install ${need[*]} (a Java 17 runtime and Maven are needed for a real Kafka)"
  fi
  [ "$(java_major)" -ge 17 ] 2>/dev/null || die "Kafka $KAFKA_VERSION needs Java 17 or newer; 'java' is $(java_major)"
  [ -f "$CACHE/.complete" ] && return 0
  mkdir -p "$CACHE"
  (
    # One resolution at a time (tests start brokers in parallel).
    flock 9
    [ -f "$CACHE/.complete" ] && exit 0
    say "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $CACHE (once)"
    rm -rf "$CACHE/libs"
    if ! mvn -B -q -f "$ROOT/config/kafka/broker.pom.xml" \
          "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEPENDENCY_PLUGIN_VERSION:copy-dependencies" \
          -Dkafka.version="$KAFKA_VERSION" -Dkafka.scala.version="$KAFKA_SCALA_VERSION" \
          -Dkafka.log4j.version="$KAFKA_LOG4J_VERSION" \
          -DincludeScope=runtime -DoutputDirectory="$CACHE/libs" >"$CACHE/mvn.log" 2>&1; then
      tail -20 "$CACHE/mvn.log" >&2
      echo "kafka.sh: Maven could not resolve kafka_$KAFKA_SCALA_VERSION:$KAFKA_VERSION (log: $CACHE/mvn.log)" >&2
      exit 1
    fi
    ls "$CACHE/libs/kafka_$KAFKA_SCALA_VERSION-$KAFKA_VERSION.jar" >/dev/null
    echo "$KAFKA_VERSION" >"$CACHE/.complete"
  ) 9>"$CACHE.lock" || die "installation failed"
}

# ------------------------------------------------------------------ helpers
# Is PID the broker of this DIR? (a PID file can outlive its process, and
# the number be reused)
ours() {
  local pid=$1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $CONF"
}
running_pid() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if ours "$pid"; then echo "$pid"; fi
}
# Can a server listen on this port? (SO_REUSEADDR as Kafka sets it: a
# socket of the previous run in TIME_WAIT does not count.)
port_free() {
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}
# A free port below Linux's ephemeral range (32768-60999), so that no
# outgoing connection can hold it when the broker restarts on it.
free_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found between 20000 and 32000"
}
addr() { echo "127.0.0.1:$PORT"; }
topics() { "$SG_BIN/sg-topics" --brokers "$(addr)" --log-level error "$@"; }

write_addr_file() {
  local tmp="$ADDR_FILE.tmp.$$"
  mkdir -p "$(dirname "$ADDR_FILE")"
  printf '%s\nkafka_version=%s\nkafka_dir=%s\n' "$(addr)" "$KAFKA_VERSION" "$DIR" >"$tmp"
  mv "$tmp" "$ADDR_FILE"
}
# Removes the address file only if it still names this broker.
remove_addr_file() {
  [ -f "$ADDR_FILE" ] && grep -qx "kafka_dir=$DIR" "$ADDR_FILE" && rm -f "$ADDR_FILE"
  return 0
}

log_tail() {
  if grep -qE '^\[[^]]*\] (ERROR|FATAL)' "$LOG" 2>/dev/null; then
    echo "---- errors in $LOG ----" >&2
    grep -A1 -E '^\[[^]]*\] (ERROR|FATAL)' "$LOG" | tail -n 6 >&2
  fi
  echo "---- last lines of $LOG ----" >&2
  tail -n "${1:-25}" "$LOG" >&2 2>/dev/null || true
  if [ -s "$DIR/logs/stdout" ]; then
    echo "---- $DIR/logs/stdout ----" >&2
    tail -n 20 "$DIR/logs/stdout" >&2
  fi
}

java_cmd() {
  JAVA=(java "-Xms${HEAP_MB}m" "-Xmx${HEAP_MB}m" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
        "-Djava.io.tmpdir=$DIR/tmp" "-DZstdTempFolder=$DIR/tmp" "-Dorg.xerial.snappy.tempdir=$DIR/tmp"
        "-Dlog4j2.configurationFile=$DIR/config/log4j2.properties"
        "-Dkafka.logs.dir=$DIR/logs" -cp "$CACHE/libs/*")
}

write_config() {
  mkdir -p "$DIR/config" "$DIR/data" "$DIR/logs" "$DIR/tmp"
  {
    echo "# Generated by scripts/kafka.sh from config/kafka/broker.properties; edits are overwritten."
    cat "$ROOT/config/kafka/broker.properties"
    echo
    echo "# This launcher: loopback only, data under $DIR"
    echo "listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
    echo "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT"
    echo "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    echo "controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT"
    echo "log.dirs=$DIR/data"
    if [ ${#EXTRA[@]} -gt 0 ]; then
      echo "# --set"
      printf '%s\n' "${EXTRA[@]}"
    fi
  } >"$CONF"
  cat >"$DIR/config/log4j2.properties" <<EOF
# Generated by scripts/kafka.sh: the broker log, size-bounded.
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $LOG
appender.file.filePattern = $DIR/logs/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = kafka.controller
logger.controller.level = INFO
EOF
}

load_state() {
  # shellcheck disable=SC1090
  [ -f "$STATE" ] && source "$STATE"
  PORT=${PORT:-${SG_STATE_PORT:-}}
  CONTROLLER_PORT=${SG_STATE_CONTROLLER_PORT:-}
  CLUSTER_ID=${SG_STATE_CLUSTER_ID:-}
  return 0
}
save_state() {
  printf 'SG_STATE_PORT=%s\nSG_STATE_CONTROLLER_PORT=%s\nSG_STATE_CLUSTER_ID=%s\n' \
    "$PORT" "$CONTROLLER_PORT" "$CLUSTER_ID" >"$STATE"
}

# ------------------------------------------------------------------ commands
# launch: starts the JVM on $PORT and waits until a broker answers there
# with this DIR's cluster id (not merely any broker: a concurrent start
# may have taken the port). Returns 0 when up, 1 when the JVM exited (its
# port taken, say), and dies on a timeout.
launch() {
  local pid waited=0 id
  setsid nohup "${JAVA[@]}" kafka.Kafka "$CONF" >"$DIR/logs/stdout" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$PIDFILE"
  for (( ; ; )); do
    id=$(topics --timeout 2 wait 2>/dev/null | awk '{print $2}') || true
    if [ -n "$id" ] && [ "$id" = "$CLUSTER_ID" ]; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      return 1
    fi
    waited=$((waited + 1))
    if [ "$waited" -ge "$START_TIMEOUT" ]; then
      log_tail
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$PIDFILE"
      [ -z "$id" ] || die "another broker (cluster $id) answers on port $PORT: pass --port, or stop it"
      die "Apache Kafka did not answer a metadata request within ${START_TIMEOUT}s (log above)"
    fi
    sleep 1
  done
}

do_start() {
  local pid given_port=$PORT auto=0 attempt
  load_state
  [ -z "$given_port" ] || PORT=$given_port
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    write_addr_file
    say "already running (pid $pid): Apache Kafka $KAFKA_VERSION at $(addr)"
    addr
    return 0
  fi
  [ -x "$SG_BIN/sg-topics" ] || die "$SG_BIN/sg-topics is missing: run scripts/setup.sh first"
  install_kafka
  if [ "$PORT" = auto ]; then
    auto=1
    PORT=$(free_port)
  elif [ -z "$PORT" ]; then
    auto=1
    if port_free 9092; then PORT=9092; else PORT=$(free_port); fi
  elif ! port_free "$PORT"; then
    die "port $PORT on 127.0.0.1 is taken (another Kafka or sg-broker?): pass --port, or stop it"
  fi
  java_cmd
  for attempt in 1 2 3; do
    if [ -z "$CONTROLLER_PORT" ] || ! port_free "$CONTROLLER_PORT"; then
      CONTROLLER_PORT=$(free_port)
      [ "$CONTROLLER_PORT" != "$PORT" ] || CONTROLLER_PORT=$(free_port)
    fi
    write_config
    if [ ! -f "$DIR/data/meta.properties" ]; then
      CLUSTER_ID=$("${JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$DIR/logs/format.log") \
        || { tail -20 "$DIR/logs/format.log" >&2; die "cannot create a cluster id"; }
      "${JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF" \
        >>"$DIR/logs/format.log" 2>&1 \
        || { tail -20 "$DIR/logs/format.log" >&2; die "cannot format $DIR/data"; }
    fi
    CLUSTER_ID=$(sed -n 's/^cluster\.id=//p' "$DIR/data/meta.properties")
    save_state
    launch && break
    # The JVM exited. A port chosen here that something else took in the
    # meantime (another broker starting at the same moment): another one.
    if [ "$auto" = 1 ] && [ "$attempt" -lt 3 ] && ! port_free "$PORT"; then
      say "port $PORT was taken while starting: trying another"
      PORT=$(free_port)
      continue
    fi
    log_tail
    die "Apache Kafka exited during start (log above; data in $DIR)"
  done
  topics --partitions "$PARTITIONS" create user_events >"$DIR/logs/topics.out" \
    && topics --partitions "$PARTITIONS" create privacy_erasures >>"$DIR/logs/topics.out" \
    && topics --partitions "$PARTITIONS" create compliance_flags >>"$DIR/logs/topics.out" \
    || { cat "$DIR/logs/topics.out" >&2; die "cannot create the topics"; }
  # Created by the controller is not yet known to the broker's metadata:
  # ready when a client sees them.
  local waited=0
  until topics --timeout 2 describe user_events privacy_erasures compliance_flags >/dev/null 2>&1; do
    waited=$((waited + 1))
    [ "$waited" -lt 60 ] || die "the topics do not show in the broker's metadata after 30 s"
    sleep 0.5
  done
  write_addr_file
  say "Apache Kafka $KAFKA_VERSION running (pid $(cat "$PIDFILE")), data in $DIR; topics: $(awk '{printf "%s%s(%s)", (NR>1?", ":""), $1, $2}' "$DIR/logs/topics.out")"
  addr
}

do_stop() {
  local pid waited=0
  pid=$(running_pid)
  if [ -z "$pid" ]; then
    rm -f "$PIDFILE"
    remove_addr_file
    say "not running (data dir $DIR)"
    return 0
  fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.5
    waited=$((waited + 1))
    if [ "$waited" -ge 120 ]; then
      say "no controlled shutdown within 60 s: killing pid $pid"
      kill -9 "$pid" 2>/dev/null || true
      break
    fi
  done
  rm -f "$PIDFILE"
  remove_addr_file
  say "stopped (pid $pid); data kept in $DIR"
}

do_status() {
  local pid
  load_state
  pid=$(running_pid)
  if [ -n "$pid" ]; then
    echo "running: Apache Kafka $KAFKA_VERSION, pid $pid, bootstrap $(addr), controller 127.0.0.1:$CONTROLLER_PORT"
    echo "data: $DIR/data  log: $LOG  cluster id: ${CLUSTER_ID:-?}"
    if [ -x "$SG_BIN/sg-topics" ]; then
      topics --timeout 5 describe user_events privacy_erasures compliance_flags 2>/dev/null | sed 's/^/topic: /' || true
    fi
    grep -qx "kafka_dir=$DIR" "$ADDR_FILE" 2>/dev/null \
      && echo "address file: $ADDR_FILE" \
      || echo "address file: $ADDR_FILE does not name this broker"
    return 0
  fi
  if [ -f "$DIR/data/meta.properties" ]; then
    echo "stopped: data of cluster ${CLUSTER_ID:-?} kept in $DIR/data (port ${PORT:-?}); 'start' brings it back"
  else
    echo "stopped: no data in $DIR"
  fi
  return 3
}

do_logs() {
  [ -f "$LOG" ] || die "no log yet at $LOG"
  if [ "$follow" -eq 1 ]; then exec tail -n 50 -F "$LOG"; fi
  tail -n 100 "$LOG"
}

case "$cmd" in
  install) install_kafka; say "Apache Kafka $KAFKA_VERSION jars in $CACHE/libs" ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  logs) do_logs ;;
esac
