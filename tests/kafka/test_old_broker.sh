#!/usr/bin/env bash
# A real Apache Kafka older than StreamGuard supports (0.10.0.1, with its
# ZooKeeper, from Maven Central): no cluster id in its metadata, no
# idempotent producer. Regression test for what a user met on such a
# broker: the consumers waited for the cluster id in a loop without a sleep
# (600,000 WARN lines a second, a full core, --idle-exit ignored), and
# sg-gdpr re-created its producer five times a second. Now: the consumer
# says in one line what is wrong and exits 1; sg-generate exits non-zero at
# once; sg-gdpr's fatal producer errors back off (1 s, 2 s, 4 s, ...).
source "$(dirname "$0")/../integration/lib.sh"

V=0.10.0.1
CACHE=${SG_KAFKA_CACHE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/streamguard}/kafka-$V
mkdir -p "$CACHE"
(
  flock 9
  [ -f "$CACHE/.complete" ] && exit 0
  mvn -B -q -f "$SG_SRC/tests/kafka/old-broker/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$CACHE/libs" >"$T/mvn.log" 2>&1 && touch "$CACHE/.complete"
) 9>"$CACHE.lock" || { tail -20 "$T/mvn.log" >&2; fail "cannot resolve Apache Kafka $V from Maven Central"; }

ZK_PORT=$(sg_free_port); PORT=$(sg_free_port)
mkdir -p "$T/zk" "$T/data"
printf 'dataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\n' "$T/zk" "$ZK_PORT" >"$T/zk.properties"
printf '%s\n' "broker.id=0" "listeners=PLAINTEXT://127.0.0.1:$PORT" "advertised.listeners=PLAINTEXT://127.0.0.1:$PORT" \
  "log.dirs=$T/data" "zookeeper.connect=127.0.0.1:$ZK_PORT" "offsets.topic.replication.factor=1" \
  "offsets.topic.num.partitions=1" "num.partitions=2" >"$T/server.properties"
printf '%s\n' "log4j.rootLogger=INFO, f" "log4j.appender.f=org.apache.log4j.FileAppender" \
  "log4j.appender.f.File=$T/old-kafka.log" "log4j.appender.f.layout=org.apache.log4j.PatternLayout" \
  "log4j.appender.f.layout.ConversionPattern=[%d] %p %m (%c)%n" >"$T/log4j.properties"
J=(java -Xmx256m "-Djava.io.tmpdir=$T" "-Dlog4j.configuration=file:$T/log4j.properties" -cp "$CACHE/libs/*")
bg zookeeper "${J[@]}" org.apache.zookeeper.server.quorum.QuorumPeerMain "$T/zk.properties"
sleep 2
bg old-kafka "${J[@]}" kafka.Kafka "$T/server.properties"
BROKERS=127.0.0.1:$PORT
wait_until 60 kcat -L -b "$BROKERS" || fail "Apache Kafka $V did not start (see $T/old-kafka.log)"
log "Apache Kafka $V at $BROKERS"
db_create
seed_users 10 42

rc=0; timeout 60 sg-raw-store --brokers "$BROKERS" --idle-exit 2 2>"$T/raw.log" || rc=$?
assert_eq 1 "$rc" "sg-raw-store exit status on a broker without a cluster id"
grep -q "answers without a cluster id: it is older than Kafka 0.10.1, and StreamGuard needs Kafka 0.11 or newer" "$T/raw.log" \
  || fail "sg-raw-store did not say why"
lines=$(wc -l <"$T/raw.log")
[ "$lines" -le 10 ] || fail "sg-raw-store wrote $lines lines (a retry loop without a sleep?)"
pass "sg-raw-store refuses the old broker in one line and exits 1 ($lines log lines)"

rc=0; timeout 60 sg-generate --brokers "$BROKERS" --count 10 >/dev/null 2>"$T/generate.log" || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "sg-generate exit status $rc on a broker without idempotence"
grep -q "Idempotent producer not supported" "$T/generate.log" || fail "sg-generate did not say why"
pass "sg-generate exits $rc at once, saying why"

bg gdpr sg-gdpr --brokers "$BROKERS"; G=$LAST_PID
sleep 12
kill -TERM "$G"; rc=0; wait_pid "$G" 30 || rc=$?
assert_eq 0 "$rc" "sg-gdpr exit status on SIGTERM"
attempts=$(grep -c "kafka producer failed fatally" "$T/gdpr.log" || true)
log "sg-gdpr: $attempts producers in 12 s; backoffs: $(grep -o 'a new one in [0-9]* ms' "$T/gdpr.log" | awk '{print $5}' | xargs)"
[ "$attempts" -ge 2 ] && [ "$attempts" -le 5 ] || fail "sg-gdpr created $attempts producers in 12 s (expected 2-5: backing off)"
assert_eq "1000 2000" "$(grep -o 'a new one in [0-9]* ms' "$T/gdpr.log" | awk '{print $5}' | head -2 | xargs)" \
  "the first two backoffs"
errors=$(grep -c ERROR "$T/gdpr.log" || true)
[ "$errors" -le $((2 * attempts)) ] || fail "sg-gdpr wrote $errors ERROR lines for $attempts fatal errors"
pass "sg-gdpr backs off on a fatal producer error, two lines each"
