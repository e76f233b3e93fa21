#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# The dead-letter share as an alert source (sql/011, consumers/
# dead_letters.c): sg-raw-store counts each partition's messages and
# invalid ones in windows of 1,000 offsets, in the same transaction as its
# rows and offsets; a window it has passed with more than 5 % invalid is
# one alert. The log holds a clean stretch (1 % invalid) then a bad one
# (20 %); sg-raw-store is killed with SIGKILL three times mid-run, with
# small batches, and the counts still come out exact: every window holds
# exactly its 1,000 messages, the invalid ones are the rejected rows, and
# there is one alert per window over the share, none for the others.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 2
seed_users 200 42
generate --count 6000 --invalid-ratio 0.01 --seed 11
generate --count 6000 --invalid-ratio 0.20 --seed 12
TOTAL=12000

SMALL=(--batch-rows 20 --batch-ms 50)
bg raw sg-raw-store --idle-exit 3 "${SMALL[@]}"; RAW=$LAST_PID
restart_raw() {
  sg_kill9 "$RAW"
  bg "raw-$1" sg-raw-store --idle-exit 3 "${SMALL[@]}"; RAW=$LAST_PID
}
ready() { c=$(stored_sum sg-raw-store); [ "$c" -gt 0 ] && [ "$c" -lt $((TOTAL - 3000)) ]; }
sg_kill9_loop 3 ready restart_raw
wait_pid "$RAW" 300 || fail "sg-raw-store after the kills: exit status"
assert_eq "$TOTAL" "$(stored_sum sg-raw-store)" "offsets stored"

assert_eq "$TOTAL" "$(psql_q "SELECT sum(messages) FROM dead_letter_windows")" \
  "messages counted in the windows (each once)"
assert_eq "$(psql_q "SELECT count(*) FROM events_rejected")" \
  "$(psql_q "SELECT sum(invalid) FROM dead_letter_windows")" "invalid counted = rows rejected"
assert_eq 0 "$(psql_q "SELECT count(*) FROM dead_letter_windows WHERE closed AND messages <> 1000")" \
  "closed windows without exactly 1000 messages"
# Per partition, only the window holding its last offset is still open.
assert_eq 2 "$(psql_q "SELECT count(*) FROM dead_letter_windows WHERE NOT closed")" "open windows"
pass "dead-letter windows exact after three SIGKILLs"

over=$(psql_q "SELECT count(*) FROM dead_letter_windows WHERE closed AND invalid * 100 > 5 * messages")
under=$(psql_q "SELECT count(*) FROM dead_letter_windows WHERE closed AND invalid * 100 <= 5 * messages")
[ "$over" -ge 2 ] && [ "$under" -ge 2 ] || fail "the scenario needs windows on both sides of 5 % (over=$over under=$under)"
assert_eq "$over" "$(psql_q "SELECT count(*) FROM alerts WHERE source = 'consumer' AND kind = 'dead_letter_rate'")" \
  "alerts = closed windows over 5 %"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts a WHERE kind = 'dead_letter_rate' AND NOT EXISTS (
                         SELECT 1 FROM dead_letter_windows w
                          WHERE w.closed AND w.invalid * 100 > 5 * w.messages
                            AND w.kafka_partition = (a.counts->>'partition')::int
                            AND w.window_start = (a.counts->>'window_start')::bigint
                            AND w.invalid = (a.counts->>'invalid')::bigint
                            AND w.messages = (a.counts->>'messages')::bigint)")" \
  "alerts that match no window over 5 % (or with other counts)"
assert_eq "high sg-raw-store" "$(psql_q "SELECT DISTINCT severity || ' ' || subject_id FROM alerts WHERE kind = 'dead_letter_rate'")" \
  "the alerts' severity and subject"
pass "one alert per window over 5 % ($over), none for the $under under it"

# Run again over the same log (offsets reset, rows kept aside): the
# windows are counted again from nothing, and the alerts are the same
# ones (their ids name the window): nothing new.
before=$(psql_q "SELECT string_agg(alert_id::text, ',' ORDER BY alert_id) FROM alerts")
psql_q "TRUNCATE events_raw, event_ids, events_rejected, events_duplicates, dead_letter_windows;
        DELETE FROM stream_offsets WHERE consumer_group = 'sg-raw-store'" >/dev/null
sg-raw-store --idle-exit 2 >"$T/raw-again.out" 2>"$T/raw-again.log" || fail "second run"
assert_eq "$before" "$(psql_q "SELECT string_agg(alert_id::text, ',' ORDER BY alert_id) FROM alerts")" \
  "alerts after the same windows were judged again"
grep -q "dead_letter_alerts=0" "$T/raw-again.log" || fail "the second run counts alerts it did not add"

# A smaller share: --dead-letter-alert-pct 25 finds none over it.
psql_q "TRUNCATE events_raw, event_ids, events_rejected, events_duplicates, dead_letter_windows; DELETE FROM alerts;
        DELETE FROM stream_offsets WHERE consumer_group = 'sg-raw-store'" >/dev/null
sg-raw-store --idle-exit 2 --dead-letter-alert-pct 25 >/dev/null 2>"$T/raw-25.log" || fail "run with 25 %"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts")" "alerts with --dead-letter-alert-pct 25"
rc_of sg-raw-store --dead-letter-alert-pct 101 >/dev/null 2>"$T/raw-bad.log"
assert_eq 2 "$RC" "exit status with --dead-letter-alert-pct 101"
pass "the share is an option; same windows judged again add no alert"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts WHERE summary LIKE '%@%' OR counts::text LIKE '%@%'")" "alerts with an '@'"
