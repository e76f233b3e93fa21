#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# Stored offsets the broker cannot serve are never skipped silently: the gap
# is logged and recorded in offset_gaps; with --on-gap stop the daemon exits
# 1 and moves nothing, with --on-gap continue (the default) it goes on from
# the oldest available offset and loses nothing that is still there.
# (Regression: a seek after an offset-reset error did not restart fetching.)
source "$(dirname "$0")/lib.sh"

db_create
broker_start 2
seed_users 50 42
generate --count 1000 --seed 3
sg-raw-store --idle-exit 2 2>"$T/raw1.log" || fail "first run"
# Move the stored offsets past the end of the log, as if the topic had been
# truncated under the consumer.
psql_q "UPDATE stream_offsets SET next_offset = next_offset + 5000; DELETE FROM events_raw; DELETE FROM event_ids" >/dev/null

rc_of timeout 60 sg-raw-store --idle-exit 2 --on-gap stop 2>"$T/raw-stop.log"; rc=$RC
assert_eq 1 "$rc" "exit status with --on-gap stop"
grep -q "rerun with --on-gap continue" "$T/raw-stop.log" || fail "no hint on how to go on"
assert_eq 0 "$(psql_q 'SELECT count(*) FROM events_raw')" "rows stored with --on-gap stop"
[ "$(psql_q "SELECT count(*) FROM offset_gaps WHERE reason = 'out_of_range'")" -ge 1 ] || fail "gap not recorded"
gap_alerts_match() {
  assert_eq "$(psql_q "SELECT string_agg(g, ',' ORDER BY g) FROM (SELECT DISTINCT
                           partition || '|' || from_offset || '|' || to_offset AS g FROM offset_gaps) d")" \
    "$(psql_q "SELECT string_agg(g, ',' ORDER BY g) FROM (SELECT (counts->>'partition') || '|' ||
                           (counts->>'from_offset') || '|' || (counts->>'to_offset') AS g
                      FROM alerts WHERE source = 'consumer' AND kind = 'offset_gap'
                       AND subject_id = 'sg-raw-store' AND severity = 'high') a")" \
    "$1"
}
gap_alerts_match "one alert per gap (--on-gap stop)"
pass "gap recorded with --on-gap stop, and alerted"
assert_eq 11000 "$(psql_q 'SELECT sum(next_offset) FROM stream_offsets')" "stored offsets left as they were"

timeout 60 sg-raw-store --idle-exit 2 2>"$T/raw-continue.log" || fail "run with --on-gap continue"
grep -q "events lost before they were read" "$T/raw-continue.log" || fail "gap not logged"
assert_eq 1000 "$(psql_q 'SELECT count(*) FROM events_raw')" "events re-read from the oldest offset"
assert_eq 1000 "$(psql_q 'SELECT sum(next_offset) FROM stream_offsets')" "stored offsets at the end of the log"
# The same gaps found again by this run: recorded again, alerted once.
gap_alerts_match "one alert per gap after the second run"
