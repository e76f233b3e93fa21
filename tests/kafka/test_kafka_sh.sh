#!/usr/bin/env bash
# scripts/kafka.sh as a user drives it: start prints the bootstrap address
# once a metadata request succeeds and creates the topics; a second start
# is a no-op printing the same address; status says what runs where; stop
# is a controlled shutdown of the process it started and removes the
# address file; start again brings the same cluster back with its data; a
# start that fails prints the broker log's tail and exits non-zero; bad
# flags exit 2.
source "$(dirname "$0")/../integration/lib.sh"

broker_start 3
ADDR=$BROKERS
[[ "$ADDR" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "address '$ADDR' is not on loopback"
assert_eq "$ADDR" "$(tail -1 "$T/kafka.out")" "start prints the bootstrap address"
assert_eq "user_events 3
privacy_erasures 3" "$(sg-topics describe user_events privacy_erasures 2>>"$T/topics.log")" "topics created"
ss -ltnp 2>/dev/null | grep "pid=$BROKER_PID," | awk '{print $4}' | grep -vE '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' >"$T/non-loopback.txt" || true
assert_eq "" "$(cat "$T/non-loopback.txt")" "broker sockets listening beyond 127.0.0.1"

out=$(kafka_sh start 2>"$T/start2.err")
assert_eq "$ADDR" "$out" "a second start prints the same address"
grep -q "already running (pid $BROKER_PID)" "$T/start2.err" || fail "a second start did not say it is running"
status=$(kafka_sh status) || fail "status exit status while running"
grep -q "^running: Apache Kafka .*pid $BROKER_PID, bootstrap $ADDR" <<<"$status" || fail "status: $status"
pass "status says what runs where"

printf 'k1:v1\nk2:v2\nk3:v3\n' | kcat -P -b "$ADDR" -t user_events -K: -p 0 2>>"$T/kcat.log" || fail "kcat -P"
CLUSTER=$(sg-topics wait 2>>"$T/topics.log" | awk '{print $2}')

kafka_sh stop 2>"$T/stop.err" || fail "stop exit status"
kill -0 "$BROKER_PID" 2>/dev/null && fail "the broker still runs after stop"
# The broker writes this marker only at the end of a controlled shutdown.
# (Its log is no proof: a logger first used during shutdown finds log4j
# already stopped, and the lines are lost; seen on a loaded machine.)
[ -f "$SG_KAFKA_DIR/data/.kafka_cleanshutdown" ] || fail "no clean-shutdown marker in the data folder"
[ ! -e "$SG_BROKER_FILE" ] || fail "stop left the address file behind"
pass "stop: controlled shutdown, address file removed"
rc=0; kafka_sh status >"$T/status.out" || rc=$?
assert_eq 3 "$rc" "status exit status when stopped"
grep -q "^stopped: data of cluster $CLUSTER kept" "$T/status.out" || fail "status when stopped: $(cat "$T/status.out")"

out=$(kafka_sh start 2>>"$T/kafka.log" | tail -1)
assert_eq "$ADDR" "$out" "restart on the same address"
BROKER_PID=$(cat "$SG_KAFKA_DIR/kafka.pid")
assert_eq "$CLUSTER" "$(sg-topics wait 2>>"$T/topics.log" | awk '{print $2}')" "cluster id after restart"
assert_eq "k1:v1 k2:v2 k3:v3" "$(kcat -C -b "$ADDR" -t user_events -p 0 -o beginning -e -q -f '%k:%s ' 2>>"$T/kcat.log" | xargs)" \
  "messages kept across the restart"

# Into a file first: under pipefail, grep -q leaving early can kill the
# writer with SIGPIPE (100 lines of broker log are tens of KB).
kafka_sh logs >"$T/logs.out"
grep -q "Kafka Server started" "$T/logs.out" || fail "logs does not show the broker log"
pass "logs shows the broker log"

rc=0; kafka_sh --partitions zero start 2>/dev/null || rc=$?
assert_eq 2 "$rc" "bad --partitions"
rc=0; kafka_sh frobnicate 2>/dev/null || rc=$?
assert_eq 2 "$rc" "unknown command"

# A start that fails: the broker cannot read its data folder.
kafka_sh stop 2>>"$T/kafka.log"
echo "garbage" >"$SG_KAFKA_DIR/data/meta.properties"
rc=0; timeout 120 "$SG_SRC/scripts/kafka.sh" --dir "$SG_KAFKA_DIR" --addr-file "$SG_BROKER_FILE" start \
  >"$T/bad.out" 2>"$T/bad.err" || rc=$?
assert_eq 1 "$rc" "exit status of a failed start"
grep -q "last lines of .*server.log" "$T/bad.err" || fail "a failed start did not print the log's tail"
grep -q "exited during start" "$T/bad.err" || fail "a failed start did not say what happened"
[ ! -e "$SG_BROKER_FILE" ] || fail "a failed start wrote the address file"
pass "a failed start prints the log's tail, exits 1"
