#!/usr/bin/env bash
# Offsets stored for one Kafka cluster are not applied to another: after
# sg-broker restarts (a new, empty cluster), sg-raw-store records the change
# in offset_gaps and reads the new topic from its beginning, so no new event
# is skipped.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 2
seed_users 100 42
generate --count 3000 --seed 1
sg-raw-store --idle-exit 3 2>"$T/raw1.log" || fail "first run"
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || true
broker_start 2
generate --count 1000 --seed 2
sg-raw-store --idle-exit 3 2>"$T/raw2.log" || fail "second run"
assert_eq 4000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events from both clusters stored"
assert_eq 2 "$(psql_q "SELECT count(*) FROM offset_gaps WHERE reason = 'cluster_changed'")" "cluster changes recorded"
assert_eq 1000 "$(psql_q "SELECT sum(next_offset) FROM stream_offsets")" "offsets on the new cluster"
grep -q "belong to another Kafka cluster" "$T/raw2.log" || fail "no log line for the cluster change"
pass "cluster change logged"
