#!/usr/bin/env bash
# Real retention: a topic that keeps about 1 MiB per partition (1 MiB
# segments, retention.bytes 1 MiB, the broker checking every second)
# deletes segments while sg-raw-store is stopped. On restart the gap is
# logged and recorded in offset_gaps with the exact number of events lost
# (the new log start minus the stored offset), and every offset is
# accounted for: stored + lost = the log's end. Never skipped silently.
source "$(dirname "$0")/../integration/lib.sh"

TOPIC=events_small
KAFKA_SET=(--set log.retention.check.interval.ms=1000)
db_create
broker_start 1
seed_users 200 42
sg-topics --partitions 1 --config retention.bytes=1048576 --config segment.bytes=1048576 \
  create "$TOPIC" >"$T/topics.out" 2>>"$T/topics.log" || fail "sg-topics create"
log_start() { kcat -C -b "$BROKERS" -t "$TOPIC" -p 0 -o beginning -c 1 -e -q -f '%o\n' 2>>"$T/kcat.log"; }
log_end() { log_ends "$TOPIC" | awk '{print $2}'; }

generate --topic "$TOPIC" --count 2000 --seed 11
sg-raw-store --topic "$TOPIC" --idle-exit 2 2>"$T/raw1.log" || fail "first sg-raw-store run"
assert_eq 2000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events stored before the stop"
assert_eq 0 "$(log_start)" "log start before retention"

# sg-raw-store is stopped; 30,000 more events roll ~15 segments and
# retention deletes the oldest, including unread ones.
generate --topic "$TOPIC" --count 30000 --seed 12
deleted_past() { [ "$(log_start)" -gt "$1" ]; }
wait_until 90 deleted_past 2000 || fail "retention did not delete the unread events (log start $(log_start))"
# Let retention finish: the log start stops moving.
prev=-1; cur=$(log_start)
while [ "$cur" != "$prev" ]; do sleep 3; prev=$cur; cur=$(log_start); done
LOW=$cur
END=$(log_end)
log "log start $LOW, end $END: $((LOW - 2000)) unread events deleted by retention"
assert_eq 32000 "$END" "log end offset"

timeout 120 sg-raw-store --topic "$TOPIC" --idle-exit 2 2>"$T/raw2.log" || fail "sg-raw-store after the gap"
grep -q "events lost before they were read: partition=0 reason=retention stored_offset=2000 low=$LOW .* lost=$((LOW - 2000))" "$T/raw2.log" \
  || fail "the gap was not logged with its exact count"
pass "gap logged: lost=$((LOW - 2000))"
assert_eq "retention|2000|$LOW|$((LOW - 2000))" \
  "$(psql_q "SELECT reason || '|' || from_offset || '|' || to_offset || '|' || lost_events FROM offset_gaps")" \
  "offset_gaps row (reason, from, to, lost)"
assert_eq "high|$((LOW - 2000))" \
  "$(psql_q "SELECT severity || '|' || (counts->>'lost_events') FROM alerts WHERE source = 'consumer' AND kind = 'offset_gap'")" \
  "the gap's alert (severity, lost events)"
assert_eq "$END" "$(psql_q "SELECT next_offset FROM stream_offsets WHERE consumer_group = 'sg-raw-store'")" \
  "stored offset = the log's end"
assert_eq $((2000 + END - LOW)) "$(psql_q 'SELECT count(*) FROM events_raw')" "events stored (before the gap, then from the log start)"
assert_eq "$END" "$(psql_q "SELECT (SELECT count(*) FROM events_raw) + (SELECT count(*) FROM events_rejected)
                                  + (SELECT sum(lost_events) FROM offset_gaps)")" \
  "stored + rejected + lost = every offset of the log"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_raw WHERE kafka_offset >= 2000 AND kafka_offset < $LOW")" \
  "rows inside the gap"
