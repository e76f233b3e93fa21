# shellcheck shell=bash
# The shell functions the tests (tests/integration/lib.sh), the benchmarks
# (bench/run) and the demo (scripts/demo.sh) share: running a command for
# its exit status, waits, background processes, the kill -9 loop, the
# broker (sg-broker or a real Apache Kafka) and a fresh database.
#
# The caller sets, before using them:
#   SG_SRC          the source tree (default: the folder above this file)
#   SG_BIN          the binaries (default: $SG_SRC/build/bin)
#   SG_LOGDIR       where sg_bg and the broker write their logs
#   SG_BROKER_FILE  the broker address file every tool reads
#   SG_KAFKA_DIR    a real broker's folder (data, logs, pid file)
# and may define sg_die MESSAGE (default: the message on stderr, exit 1).
# PostgreSQL is the local cluster: PGHOST (default localhost) and PGPORT
# (default 5432), libpq's own variables, are honoured here as everywhere.

SG_SRC=${SG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SG_BIN=${SG_BIN:-$SG_SRC/build/bin}
SG_PIDS=()
BROKERS=""
BROKER_PID=""

declare -F sg_die >/dev/null || sg_die() { echo "$*" >&2; exit 1; }

# rc_of CMD...: runs CMD with errexit off; its exit status is in RC.
rc_of() { RC=0; "$@" || RC=$?; }

# sg_free_port: a TCP port free on 127.0.0.1 right now (the kernel's
# choice), for a helper server that takes its port as an argument.
sg_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# sg_wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds;
# returns 1 if it did not within SECONDS.
sg_wait_until() {
  local limit=$1 i; shift
  for ((i = 0; i < limit * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  return 1
}

# sg_wait_pid PID SECONDS: waits for PID (a child) to end and returns its
# exit status; after SECONDS it is killed and the run fails.
sg_wait_pid() {
  local pid=$1 limit=$2 i
  for ((i = 0; i < limit * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null
    sg_die "pid $pid still running after ${limit}s"
  fi
  wait "$pid"
}

# sg_bg NAME CMD...: runs CMD in the background, stdout appended to
# $SG_LOGDIR/NAME.out and stderr to $SG_LOGDIR/NAME.log; LAST_PID is its
# pid (also kept in SG_PIDS, for sg_stop_all).
sg_bg() {
  local name=$1; shift
  "$@" >>"$SG_LOGDIR/$name.out" 2>>"$SG_LOGDIR/$name.log" &
  LAST_PID=$!
  SG_PIDS+=("$LAST_PID")
}

# sg_stop_pid PID: SIGTERM, up to 20 s to exit, then SIGKILL; reaped.
sg_stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# sg_stop_all: stops every process sg_bg started (for an EXIT trap):
# SIGTERM to all first, so that they drain side by side.
sg_stop_all() {
  local pid
  for pid in "${SG_PIDS[@]:-}"; do
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${SG_PIDS[@]:-}"; do
    [ -z "$pid" ] || sg_stop_pid "$pid"
  done
  SG_PIDS=()
}

# sg_kill9 PID: SIGKILL and reap (its status is of no interest).
sg_kill9() {
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# sg_kill9_loop ROUNDS READY RESTART: ROUNDS times, waits (up to 60 s)
# until the command READY succeeds (a daemon has committed something, the
# run is still under way: READY may fail the run itself), lets a random
# 0.1-0.9 s pass, then runs RESTART ROUND, which kills the daemon with
# sg_kill9 and starts it again. The kills land mid-batch, at seeded but
# varied moments ($RANDOM).
sg_kill9_loop() {
  local rounds=$1 ready=$2 restart=$3 round
  for ((round = 1; round <= rounds; round++)); do
    sg_wait_until 60 "$ready" || sg_die "not ready for kill $round ($ready)"
    sleep "0.$((RANDOM % 9 + 1))"
    "$restart" "$round"
  done
}

# sg_kafka_sh ARGS...: scripts/kafka.sh on this run's real broker.
sg_kafka_sh() {
  SG_BIN=$SG_BIN "$SG_SRC/scripts/kafka.sh" --dir "$SG_KAFKA_DIR" --addr-file "$SG_BROKER_FILE" "$@"
}

# sg_broker_start KIND PARTITIONS [kafka.sh options...]: starts a broker
# and waits until it answers; sets BROKERS and BROKER_PID. KIND embedded:
# sg-broker (librdkafka's mock cluster, a new empty cluster each time);
# kafka: a real Apache Kafka in $SG_KAFKA_DIR (scripts/kafka.sh; its data
# survives a restart). A broker that did not start fails the run loudly,
# with its log's tail.
sg_broker_start() {
  local kind=$1 parts=$2; shift 2
  rm -f "$SG_BROKER_FILE"
  case "$kind" in
    kafka)
      sg_kafka_sh --partitions "$parts" "$@" start >>"$SG_LOGDIR/kafka.out" 2>>"$SG_LOGDIR/kafka.log" || {
        tail -20 "$SG_LOGDIR/kafka.log" >&2
        sg_die "Apache Kafka did not start (scripts/kafka.sh; log above, all of it in $SG_LOGDIR/kafka.log)"
      }
      BROKER_PID=$(cat "$SG_KAFKA_DIR/kafka.pid")
      ;;
    embedded)
      sg_bg broker "$SG_BIN/sg-broker" --partitions "$parts" --addr-file "$SG_BROKER_FILE"
      BROKER_PID=$LAST_PID
      if ! sg_wait_until 30 test -s "$SG_BROKER_FILE"; then
        tail -20 "$SG_LOGDIR/broker.log" >&2
        sg_die "sg-broker did not start (log above)"
      fi
      ;;
    *) sg_die "sg_broker_start: unknown broker kind '$kind' (embedded or kafka)" ;;
  esac
  BROKERS=$(head -1 "$SG_BROKER_FILE")
}

# sg_broker_stop: stops the broker sg_broker_start started (a real one by
# a controlled shutdown).
sg_broker_stop() {
  if [ -n "${SG_KAFKA_DIR:-}" ] && [ -f "$SG_KAFKA_DIR/kafka.pid" ]; then
    sg_kafka_sh stop >>"$SG_LOGDIR/kafka.log" 2>&1 || true
  elif [ -n "$BROKER_PID" ]; then
    sg_stop_pid "$BROKER_PID"
  fi
  BROKER_PID=""
}

# sg_psql_owner DB ARGS...: psql as sg_owner on database DB, no password
# prompt (~/.pgpass), stop on the first error.
sg_psql_owner() {
  local db=$1; shift
  psql -X -q -w -v ON_ERROR_STOP=1 "host=${PGHOST:-localhost} dbname=$db user=sg_owner" "$@"
}

# sg_db_create DB: a fresh database DB owned by sg_owner, migrated with
# sg-migrate (a drop that fails because sessions linger is retried).
sg_db_create() {
  local db=$1 i
  # WITH (FORCE) cannot end other roles' sessions for sg_owner: a daemon
  # just killed can leave its backend finishing a statement for a few
  # seconds; wait for it (up to 30 s).
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
    if sg_psql_owner postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
         -c "CREATE DATABASE $db" >/dev/null 2>>"$SG_LOGDIR/db.log"; then
      "$SG_BIN/sg-migrate" --dsn "host=${PGHOST:-localhost} dbname=$db user=sg_owner" \
        2>>"$SG_LOGDIR/migrate.log" || { tail -5 "$SG_LOGDIR/migrate.log" >&2; sg_die "migrations of $db"; }
      return 0
    fi
    sleep 2
  done
  tail -5 "$SG_LOGDIR/db.log" >&2
  sg_die "cannot create database $db"
}

# sg_db_drop DB: drops DB (for cleanups: never fails).
sg_db_drop() {
  sg_psql_owner postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true
}
