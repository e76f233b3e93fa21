#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# Rebalances mid-run: while 80,000 events stream in, a second instance of
# sg-raw-store and of sg-stream-metrics joins its group, takes partitions,
# stores/counts events, then leaves on SIGTERM (commits its open batch,
# leaves the group cleanly, exits 0); the first instances keep going and
# take the partitions back. Every event still takes effect exactly once.
source "$(dirname "$0")/../integration/lib.sh"

COUNT=80000
db_create
broker_start 6
seed_users 500 42
B=$(head -1 "$SG_BROKER_FILE")
opts=(--batch-ms 300 --progress-interval 1)
bg raw1 sg-raw-store "${opts[@]}"; RAW1=$LAST_PID
bg sm1 sg-stream-metrics "${opts[@]}"; SM1=$LAST_PID
sg-generate --count "$COUNT" --rate 2000 --invalid-ratio 0.01 --days 2 --seed 707 \
  >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
wait_until 60 grep -q "progress .*committed=[1-9]" "$T/raw1.log" || fail "sg-raw-store 1 made no progress"
wait_until 60 grep -q "progress .*committed=[1-9]" "$T/sm1.log" || fail "sg-stream-metrics 1 made no progress"
sleep 2

# Join: the second instances get partitions and commit batches of them.
log "starting the second instances"
bg raw2 sg-raw-store "${opts[@]}"; RAW2=$LAST_PID
bg sm2 sg-stream-metrics "${opts[@]}"; SM2=$LAST_PID
for name in raw2 sm2; do
  wait_until 60 grep -q "assigned partition" "$T/$name.log" || fail "$name was never assigned a partition"
  wait_until 60 grep -q "progress .*committed=[1-9]" "$T/$name.log" || fail "$name committed nothing"
done
pass "second instances assigned partitions and committing"
sleep 3
# Leave: SIGTERM mid-run.
kill -0 "$GEN" 2>/dev/null || fail "the generator finished before the second instances left: they must leave mid-run"
log "stopping the second instances (SIGTERM)"
kill -TERM "$RAW2" "$SM2"
rc=0; wait_pid "$RAW2" 60 || rc=$?; assert_eq 0 "$rc" "second sg-raw-store exit status (SIGTERM mid-run)"
rc=0; wait_pid "$SM2" 60 || rc=$?; assert_eq 0 "$rc" "second sg-stream-metrics exit status (SIGTERM mid-run)"
kill -0 "$GEN" 2>/dev/null || fail "the generator finished before the second instances had left"
s2=$(sed -n 's/.*exit status=0 stored=\([0-9]*\) .*/\1/p' "$T/raw2.log")
c2=$(sed -n 's/.*exit status=0 counted=\([0-9]*\) .*/\1/p' "$T/sm2.log")
log "second instances: sg-raw-store stored=${s2:-none}, sg-stream-metrics counted=${c2:-none}"
[ "${s2:-0}" -gt 0 ] || fail "the second sg-raw-store stored nothing"
[ "${c2:-0}" -gt 0 ] || fail "the second sg-stream-metrics counted nothing"
pass "the second instances stored and counted events"

# The first instances take every partition back and run to the end.
wait "$GEN" || fail "sg-generate failed"
cp "$T/gen.json" "$T/gen-all.json"
assert_eq "$COUNT" "$(jq .delivered "$T/gen.json")" "events delivered"
for name in raw1 sm1; do
  # The last "partitions=N" of its progress lines: all 6 again.
  wait_until 60 sh -c "grep 'progress ' '$T/$name.log' | tail -1 | grep -q ' partitions=6 '" \
    || fail "$name did not take all partitions back"
done
pass "the first instances hold all partitions again"
wait_until 120 caught_up "$COUNT" || fail "consumers did not reach the end of the log"
kill -TERM "$RAW1" "$SM1"
rc=0; wait "$RAW1" || rc=$?; assert_eq 0 "$rc" "first sg-raw-store exit status"
rc=0; wait "$SM1" || rc=$?; assert_eq 0 "$rc" "first sg-stream-metrics exit status"
s1=$(sed -n 's/.*exit status=0 stored=\([0-9]*\) .*/\1/p' "$T/raw1.log")
c1=$(sed -n 's/.*exit status=0 counted=\([0-9]*\) .*/\1/p' "$T/sm1.log")
INVALID=$(jq .invalid "$T/gen.json")
# Rows and counts are per instance, each event by exactly one of them.
assert_eq $((COUNT - INVALID)) "$((s1 + s2))" "events stored by the two sg-raw-store instances together"
assert_eq $((COUNT - INVALID)) "$((c1 + c2))" "events counted by the two sg-stream-metrics instances together"

audit_raw_store $((COUNT - INVALID)) "$INVALID" "$COUNT"
assert_eq "$(expected_reasons)" "$(actual_reasons)" "rejections by reason"
ends=$(kcat -C -b "$B" -t user_events -o -1 -e -q -f '%p %o\n' 2>"$T/kcat.log" | sort -n)
for group in sg-raw-store sg-stream-metrics; do
  assert_eq "$(awk '{print $1, $2 + 1}' <<<"$ends")" \
    "$(psql_q "SELECT partition || ' ' || next_offset FROM stream_offsets
               WHERE consumer_group = '$group' ORDER BY partition")" \
    "$group stored offsets = the log's end offsets"
done
assert_eq $((COUNT - INVALID)) "$(psql_q 'SELECT sum(total_events) FROM metrics_streaming_daily')" "events counted by streaming"
audit_lambda
