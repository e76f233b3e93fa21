#!/usr/bin/env bash
# Two sg-raw-store instances in one consumer group split the partitions and
# together store exactly N rows.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 6
seed_users 300 42
bg raw1 sg-raw-store --idle-exit 6 --batch-ms 200; P1=$LAST_PID
bg raw2 sg-raw-store --idle-exit 6 --batch-ms 200; P2=$LAST_PID
# Both members must be in the group before the events arrive.
wait_until 60 grep -q "assigned partition" "$T/raw1.log" || fail "instance 1 never assigned"
wait_until 60 grep -q "assigned partition" "$T/raw2.log" || fail "instance 2 never assigned"
generate --count 30000 --seed 31
wait_pid "$P1" 120 || fail "instance 1 exit status"
wait_pid "$P2" 120 || fail "instance 2 exit status"
s1=$(grep -o 'exit status=0 stored=[0-9]*' "$T/raw1.log" | grep -o '[0-9]*$')
s2=$(grep -o 'exit status=0 stored=[0-9]*' "$T/raw2.log" | grep -o '[0-9]*$')
log "instance 1 stored $s1, instance 2 stored $s2"
[ "${s1:-0}" -gt 0 ] || fail "instance 1 stored nothing: partitions not split"
[ "${s2:-0}" -gt 0 ] || fail "instance 2 stored nothing: partitions not split"
pass "both instances stored rows"
assert_eq 30000 "$((s1 + s2))" "rows stored by the two instances together"
audit_raw_store 30000 0 30000
# At the end, each partition was last written by exactly one instance's batches.
assert_eq 6 "$(psql_q "SELECT count(*) FROM stream_offsets WHERE consumer_group = 'sg-raw-store'")" "partitions with stored offsets"
