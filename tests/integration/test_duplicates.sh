#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# Duplicate event_ids from upstream are counted, not errors: the same seed
# produced twice stores every event once and records the repeats.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 4
seed_users 100 42
generate --count 5000 --seed 77
generate --count 5000 --seed 77
sg-raw-store --idle-exit 3 2>"$T/raw.log" || fail "sg-raw-store exit status"
assert_eq 5000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events stored once"
assert_eq 5000 "$(psql_q 'SELECT count(*) FROM events_duplicates')" "duplicates recorded"
assert_eq 10000 "$(psql_q "SELECT sum(next_offset) FROM stream_offsets WHERE consumer_group = 'sg-raw-store'")" \
  "offsets consumed"
grep -q "exit status=0 stored=5000 rejected=0 duplicates=5000" "$T/raw.log" || fail "exit line counts"
pass "exit line counts stored=5000 duplicates=5000"
