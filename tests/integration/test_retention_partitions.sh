#!/usr/bin/env bash
# sg-test-brokers: embedded
# Retention (docs/retention.md). 012_retention converts a populated
# database in place (15 months of events, dead letters of 4 months,
# duplicates: counts and sums equal after); the consumers work on the
# partitioned tables; an event of a month without a partition lands in
# DEFAULT and sg-retention reports it and moves it; sg-retention --dry-run
# changes nothing; sg-retention drops exactly the event months entirely
# older than 13 months and the dead-letter months entirely older than 30
# days, logs them, and forgets their event ids; the consumers, the batch
# and the diff keep working on what remains; a duplicate stored in
# another month than its first copy is caught.
source "$(dirname "$0")/lib.sh"

month() { date -u -d "$(date -u +%Y-%m-01) $1 months" +%Y-%m-01; }  # first day, relative
part() { echo "$1_$(date -u -d "$2" +%Y_%m)"; }                      # partition name
M0=$(month 0)

# --- The migration, on a database populated at migration 011 ----------
sg_psql_owner postgres -c "DROP DATABASE IF EXISTS $TEST_DB WITH (FORCE)" -c "CREATE DATABASE $TEST_DB" >/dev/null
mkdir -p "$T/sql011"
for f in "$SG_SRC"/sql/[0-9][0-9][0-9]_*.sql; do
  [[ $(basename "$f") < 012 ]] && ln -s "$f" "$T/sql011/"
done
sg-migrate --dir "$T/sql011" --dsn "$OWNER_DSN" 2>>"$T/migrate.log" || fail "migrations up to 011"
# 10 events on each of 15 months (this one and the 14 before), 20 dead
# letters over 4 months, 3 duplicates; the streaming metrics of the
# seeded events, so that batch = streaming over them.
psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country,
                        is_eu, amount, kafka_topic, kafka_partition, kafka_offset)
SELECT gen_random_uuid(), gen_random_uuid(), CASE WHEN i % 2 = 0 THEN 'purchase' ELSE 'page_view' END,
       ts, (ts AT TIME ZONE 'UTC')::date, 'DE', true,
       CASE WHEN i % 2 = 0 THEN (m * 100 + i) / 4.0 ELSE 0 END, 'seed', 0, m * 100 + i
  FROM generate_series(0, 14) m, generate_series(1, 10) i,
       LATERAL (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - m * interval '1 month'
                        + i * interval '7 hours') AT TIME ZONE 'UTC' AS ts) t;
INSERT INTO events_rejected (consumer_group, kafka_topic, kafka_partition, kafka_offset, reason,
                             message, payload, payload_bytes, rejected_at)
SELECT 'sg-raw-store', 'seed', 1, d * 10 + i, 'malformed_json', 'seeded', '{', d + i, now() - d * interval '1 day'
  FROM unnest(ARRAY[0, 35, 65, 95]) d, generate_series(1, 5) i;
INSERT INTO events_duplicates (consumer_group, event_id, kafka_topic, kafka_partition, kafka_offset)
SELECT 'sg-raw-store', event_id, 'seed', 2, kafka_offset FROM events_raw ORDER BY kafka_offset LIMIT 3;
INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
SELECT event_date, event_type, count(*), sum(amount) FROM events_raw GROUP BY 1, 2;
INSERT INTO metrics_streaming_country_daily (event_date, country, event_type, total_events, total_amount)
SELECT event_date, country, event_type, count(*), sum(amount) FROM events_raw GROUP BY 1, 2, 3;" >/dev/null
Q_RAW="SELECT count(*) || ' ' || sum(amount) || ' ' || count(DISTINCT event_date) || ' ' || count(DISTINCT event_id) FROM events_raw"
Q_REJ="SELECT count(*) || ' ' || sum(payload_bytes) || ' ' || max(id) || ' ' || min(rejected_at) FROM events_rejected"
raw0=$(psql_q "$Q_RAW"); rej0=$(psql_q "$Q_REJ")
assert_eq "150 " "$(cut -d' ' -f1 <<<"$raw0") " "seeded events"
sg-migrate --dsn "$OWNER_DSN" 2>>"$T/migrate.log" || { tail -3 "$T/migrate.log" >&2; fail "sg-migrate 012 on a populated database"; }
assert_eq "$raw0" "$(psql_q "$Q_RAW")" "events_raw after 012: rows, sum of amounts, dates, ids"
assert_eq "$rej0" "$(psql_q "$Q_REJ")" "events_rejected after 012: rows, sum of sizes, max id, oldest"
assert_eq 3 "$(psql_q 'SELECT count(*) FROM events_duplicates')" "events_duplicates after 012"
assert_eq "p p" "$(psql_q "SELECT string_agg(relkind::text, ' ' ORDER BY relname) FROM pg_class WHERE relname IN ('events_raw', 'events_rejected')")" \
  "both tables partitioned"
assert_eq 150 "$(psql_q 'SELECT count(*) FROM event_ids i JOIN events_raw r USING (event_id, event_date)')" \
  "event_ids registers every stored event"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_raw WHERE tableoid::regclass::text <> 'events_raw_' || to_char(event_date, 'YYYY_MM')")" \
  "events in a partition other than their month's"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_rejected WHERE tableoid::regclass::text <> 'events_rejected_' || to_char(rejected_at AT TIME ZONE 'UTC', 'YYYY_MM')")" \
  "dead letters in a partition other than their month's"
assert_eq 15 "$(psql_q "SELECT count(*) FROM retention_partitions WHERE parent = 'events_raw' AND NOT is_default AND range_to <= '$(month 1)'")" \
  "monthly events_raw partitions up to this month"
# The roles, on the parents and directly on a partition.
sqlstate() {
  if out=$(psql -X -q -w -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$1" -c "$2" 2>&1); then echo ok
  else echo "$out" | grep -o 'ERROR: *[0-9A-Z]\{5\}' | head -1 | awk '{print $2}'; fi
}
P0=$(part events_raw "$M0")
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" "SELECT count(*) FROM events_raw, $P0, events_rejected, retention_log")" "analytics reading the tables and a partition"
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" "INSERT INTO event_ids VALUES (gen_random_uuid(), current_date)")" "analytics writing event_ids"
assert_eq 42501 "$(sqlstate "$PG_DSN" "DELETE FROM $P0")" "writer deleting from a partition"
assert_eq 42501 "$(sqlstate "$PG_DSN" "DROP TABLE $P0")" "writer dropping a partition"

# --- The consumers on the partitioned tables ---------------------------
broker_start 2
seed_users 50 42
generate --count 2000 --invalid-ratio 0.05 --seed 5
MOLD=$(month -2); MFUT=$(month 6); MGONE=$(month -16)
generate --count 300 --seed 21 --start "$MOLD"       # first copies, two months ago
generate --count 5 --seed 31 --start "$MFUT"         # a month with no partition
generate --count 4 --seed 41 --start "$MGONE"        # the same, too old to keep
bg raw sg-raw-store --idle-exit 3; RAW=$LAST_PID
bg sm sg-stream-metrics --idle-exit 3; SM=$LAST_PID
wait_pid "$RAW" 120 || fail "sg-raw-store exit status"
wait_pid "$SM" 120 || fail "sg-stream-metrics exit status"
assert_eq $((150 + 1900 + 309)) "$(psql_q 'SELECT count(*) FROM events_raw')" "events stored"
assert_eq $((20 + 100)) "$(psql_q 'SELECT count(*) FROM events_rejected')" "dead letters stored"
assert_eq 9 "$(psql_q 'SELECT count(*) FROM events_raw_default')" "events of months without a partition, in DEFAULT"
assert_eq 0 "$(psql_q 'SELECT count(*) FROM events_duplicates WHERE kafka_topic <> '"'seed'")" "duplicates so far"
[ "$(psql_q 'SELECT min(id) FROM events_rejected WHERE kafka_topic <> '"'seed'")" -gt "$(cut -d' ' -f3 <<<"$rej0")" ] \
  || fail "dead-letter ids did not go on after the migrated ones"
pass "dead-letter ids go on after the migrated ones"

# --- sg-retention's conventions -----------------------------------------
rc_of sg-retention --no-such-flag 2>/dev/null; assert_eq 2 "$RC" "sg-retention bad flag exit status"
rc_of env SG_LOG_LEVEL=warn sg-retention --dsn "host=127.0.0.1 port=1 dbname=x user=sg_owner" --retry-for 2 >/dev/null 2>"$T/unreach.err"
assert_eq "1 1" "$RC $(wc -l <"$T/unreach.err")" "sg-retention, database unreachable: exit status and lines"
rc_of env PGPASSWORD=not-the-password-4711 sg-retention --dsn "$OWNER_DSN" >/dev/null 2>"$T/pw.err"
assert_eq "1 1" "$RC $(wc -l <"$T/pw.err")" "sg-retention, wrong password: exit status and lines"
rc_of env SG_LOG_LEVEL=warn sg-retention --dsn "$PG_DSN" >/dev/null 2>"$T/writer.err"
assert_eq "1 1" "$RC $(wc -l <"$T/writer.err")" "sg-retention as sg_writer (no DDL rights): exit status and lines"

# --- --dry-run changes nothing ------------------------------------------
Q_STATE="SELECT string_agg(partition || ':' || sg_partition_rows(partition::regclass), ' ' ORDER BY partition)
           FROM retention_partitions
         UNION ALL SELECT (SELECT count(*) FROM event_ids)::text"
state0=$(psql_q "$Q_STATE")
sg-retention --dsn "$OWNER_DSN" --dry-run >"$T/dry.out" 2>"$T/dry.log" || fail "sg-retention --dry-run"
assert_eq "$state0" "$(psql_q "$Q_STATE")" "partitions, their rows and event_ids after --dry-run"
assert_eq 0 "$(psql_q 'SELECT count(*) FROM retention_log WHERE NOT dry_run')" "actions logged as done by --dry-run"

# What must go: event months whose end is at most today minus 13 months
# (of the seeded 15 that is the oldest, M-14; M-13 ends after the cutoff),
# the DEFAULT's month M-16 once moved, and dead-letter months whose end is
# at most today minus 30 days.
CUT_EV=$(date -u -d "$(date -u +%F) -13 months" +%F)
[ "$(date -u -d "$(month -13)" +%s)" -le "$(date -u -d "$CUT_EV" +%s)" ] || fail "test arithmetic"
WANT_DROP="$(part events_raw "$MGONE") $(part events_raw "$(month -14)")"
WANT_DROP_REJ=$(psql_q "SELECT string_agg(partition, ' ' ORDER BY range_from) FROM retention_partitions
                         WHERE parent = 'events_rejected' AND NOT is_default AND range_to <= current_date - 30")
[ -n "$WANT_DROP_REJ" ] || fail "no dead-letter month old enough: the test's data is wrong"
GONE_ROWS=$(psql_q "SELECT count(*) || ' ' || sum(amount) FROM events_raw WHERE event_date < '$(month -13)'")
SUM_LEFT=$(psql_q "SELECT sum(amount) FROM events_raw WHERE event_date >= '$(month -13)'")
REJ_KEEP=$(psql_q "SELECT count(*) FROM events_rejected
                   WHERE (date_trunc('month', rejected_at AT TIME ZONE 'UTC') + interval '1 month')::date > current_date - 30")
assert_eq "$WANT_DROP $WANT_DROP_REJ" "$(awk '$1 == "would" && $2 == "drop" {printf "%s%s", s, $4; s = " "}' "$T/dry.out")" \
  "partitions --dry-run would drop"
grep -Eq "^would default_rows +events_raw +- +$MFUT\.\.[0-9-]+ +5 " "$T/dry.out" || fail "--dry-run does not report the 5 rows of $MFUT in DEFAULT"
pass "--dry-run reports the DEFAULT's rows"

# --- The real run --------------------------------------------------------
sg-retention --dsn "$OWNER_DSN" >"$T/ret.out" 2>"$T/ret.log" || { cat "$T/ret.log" >&2; fail "sg-retention"; }
cat "$T/ret.out" >&2
assert_eq "$WANT_DROP $WANT_DROP_REJ" "$(psql_q "SELECT string_agg(partition, ' ' ORDER BY table_name, range_from)
    FROM retention_log WHERE action = 'drop' AND NOT dry_run")" "partitions dropped (retention_log)"
assert_eq 0 "$(psql_q "SELECT count(*) FROM retention_partitions WHERE partition IN ('$(sed "s/ /','/g" <<<"$WANT_DROP $WANT_DROP_REJ")')")" \
  "dropped partitions left in the catalog"
assert_eq "$(part events_raw "$(month -13)")" "$(psql_q "SELECT min(partition) FROM retention_partitions WHERE parent = 'events_raw' AND NOT is_default")" \
  "oldest events_raw partition kept (not entirely older than 13 months)"
assert_eq "$((150 + 1900 + 309 - $(cut -d' ' -f1 <<<"$GONE_ROWS")))" "$(psql_q 'SELECT count(*) FROM events_raw')" \
  "events left: all but the dropped months'"
assert_eq "$SUM_LEFT" "$(psql_q 'SELECT sum(amount) FROM events_raw')" "sum of amounts left"
assert_eq "$REJ_KEEP" "$(psql_q 'SELECT count(*) FROM events_rejected')" "dead letters left: those of months not entirely past 30 days"
assert_eq "$(psql_q 'SELECT count(*) FROM events_raw')" "$(psql_q 'SELECT count(*) FROM event_ids')" \
  "event_ids holds exactly the stored events (dropped ones forgotten)"
assert_eq "$(cut -d' ' -f1 <<<"$GONE_ROWS")" "$(psql_q "SELECT sum(rows) FROM retention_log WHERE action = 'drop' AND table_name = 'events_raw' AND NOT dry_run")" \
  "rows logged for the dropped event months"
assert_eq "0 5" "$(psql_q "SELECT (SELECT count(*) FROM events_raw_default) || ' ' || sg_partition_rows('$(part events_raw "$MFUT")')")" \
  "DEFAULT emptied: its rows moved into their month's new partition"
assert_eq "default_rows:5 create:5" "$(psql_q "SELECT string_agg(action || ':' || rows, ' ' ORDER BY id) FROM retention_log
    WHERE NOT dry_run AND table_name = 'events_raw' AND range_from = '$MFUT'")" "DEFAULT's month logged (found, then created with its rows)"
for k in 0 1 2; do
  assert_eq 2 "$(psql_q "SELECT count(*) FROM retention_partitions WHERE partition IN ('$(part events_raw "$(month $k)")', '$(part events_rejected "$(month $k)")')")" \
    "partitions of month +$k for both tables"
done
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" "SELECT count(*) FROM $(part events_raw "$MFUT")")" "analytics reading a partition sg-retention created"
sg-retention --dsn "$OWNER_DSN" >"$T/ret2.out" 2>>"$T/ret.log" || fail "second sg-retention"
grep -q "^0 created (0 rows moved from DEFAULT), 0 dropped (0 rows), 0 months found in DEFAULT" "$T/ret2.out" || { cat "$T/ret2.out" >&2; fail "a second run found work"; }
pass "a second run has nothing to do"

# --- The consumers, the batch and the diff on what remains ---------------
generate --count 500 --seed 51
bg raw2 sg-raw-store --idle-exit 3; RAW=$LAST_PID
bg sm2 sg-stream-metrics --idle-exit 3; SM=$LAST_PID
wait_pid "$RAW" 120 || fail "sg-raw-store exit status after retention"
wait_pid "$SM" 120 || fail "sg-stream-metrics exit status after retention"
grep -q "exit status=0 stored=500 rejected=0 duplicates=0" "$T/raw2.log" || fail "sg-raw-store after retention: exit line"
pass "sg-raw-store after retention stored 500"
FROM=$(month -13); TO=$(date -u -d "$MFUT +1 month -1 day" +%F)
sg-batch-metrics --from "$FROM" --to "$TO" >"$T/batch.out" 2>"$T/batch.log" || fail "sg-batch-metrics"
rc_of sg-compare --from "$FROM" --to "$TO" >"$T/compare.out" 2>"$T/compare.log"
[ "$RC" -eq 0 ] || cat "$T/compare.out" >&2
assert_eq 0 "$RC" "sg-compare over the retained months exit status"

# --- A duplicate in another month than its first copy --------------------
# The same events again (same times: same month), and one of the first
# copies of two months ago re-sent with this month's time.
generate --count 300 --seed 21 --start "$MOLD"
kcat -C -b "$BROKERS" -t user_events -o beginning -e -q -f '%s\n' >"$T/topic.jsonl" 2>>"$T/kcat.log" || fail "kcat -C"
msg=$(jq -cR --arg m "${MOLD:0:7}" 'fromjson? | select(.event_timestamp | startswith($m))' "$T/topic.jsonl" | sed -n 1p)
DUP_ID=$(jq -r .event_id <<<"$msg")
[ -n "$DUP_ID" ] && [ "$DUP_ID" != null ] || fail "no event of $MOLD found in the topic"
jq -c --arg ts "$(date -u +%F)T12:00:00Z" '.event_timestamp = $ts' <<<"$msg" \
  | sed "s/^/$(jq -r .user_id <<<"$msg")\t/" | kcat -P -b "$BROKERS" -t user_events -K$'\t' 2>>"$T/kcat.log" || fail "kcat -P"
before=$(psql_q 'SELECT count(*) FROM events_raw')
sg-raw-store --idle-exit 3 2>"$T/raw3.log" || fail "sg-raw-store (duplicates)"
grep -q "exit status=0 stored=0 rejected=0 duplicates=301" "$T/raw3.log" || { grep "exit status" "$T/raw3.log" >&2; fail "exit line: 301 duplicates"; }
pass "sg-raw-store: 301 duplicates, nothing stored"
assert_eq "$before" "$(psql_q 'SELECT count(*) FROM events_raw')" "events_raw after the duplicates"
assert_eq "1 ${MOLD:0:7}" "$(psql_q "SELECT count(*) || ' ' || to_char(min(event_date), 'YYYY-MM') FROM events_raw WHERE event_id = '$DUP_ID'")" \
  "the re-timed duplicate: stored once, in its first copy's month"
assert_eq 2 "$(psql_q "SELECT count(*) FROM events_duplicates WHERE event_id = '$DUP_ID'")" \
  "the re-timed duplicate's repeats recorded (same time, then this month)"
