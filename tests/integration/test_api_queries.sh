#!/usr/bin/env bash
# sg-api's read-only queries (api/queries.c) through api-query-driver, no
# HTTP: known rows loaded into a throw-away database, every answer checked
# against independent SQL (counts, sums, order), every page of
# /compliance/flags walked (each flag exactly once, in order, with and
# without filters), 400 on bad parameters without echoing them, 404 on an
# unknown flag or request, no e-mail anywhere. The driver connects as
# sg_analytics, which may read neither users_pii nor privacy_requests'
# email column: a query that touched them would fail.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 2
export PG_DSN=$ANALYTICS_DSN
EMAIL=api-test-person@example.com

# q ROUTE [PARAM] [k=v...]: runs the driver; STATUS and BODY (compact
# JSON); every body is also appended to $T/bodies for the e-mail check.
q() {
  api-query-driver "$@" >"$T/q.out" 2>>"$T/driver.log" || fail "api-query-driver $1 exited non-zero"
  STATUS=$(head -1 "$T/q.out")
  BODY=$(sed -n 2p "$T/q.out")
  printf '%s\n' "$BODY" >>"$T/bodies"
}
# expect STATUS CODE WHAT ROUTE ARGS...: a problem with that status and code
expect() {
  local st=$1 code=$2 what=$3; shift 3
  q "$@"
  [ "$STATUS" = "$st" ] && [ "$(jq -r .code <<<"$BODY")" = "$code" ] \
    || fail "$what: expected $st $code, got $STATUS $BODY"
  pass "$what: $st $code"
}
j() { jq -c "$1" <<<"$BODY"; }
jr() { jq -r "$1" <<<"$BODY"; }
# sqlj "SQL": the SQL's single JSON value, as compact JSON.
sqlj() { psql_q "$1" | jq -c .; }

# ------------------------------------------------------------------ data
TODAY=$(psql_q "SELECT (now() AT TIME ZONE 'UTC')::date")
psql_q "
-- Streaming metrics on 2026-01-10 and 2026-01-11, and today.
INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
SELECT d, t, 100 * k + length(t), CASE WHEN t = 'purchase' THEN 1234.5 * k + 0.05 ELSE 0 END
  FROM (VALUES (date '2026-01-10', 1), (date '2026-01-11', 2), ('$TODAY'::date, 3)) AS v(d, k),
       unnest(ARRAY['page_view','add_to_cart','purchase','play','pause','stop','playback_error']) AS t;
INSERT INTO metrics_streaming_country_daily (event_date, country, event_type, total_events, total_amount)
SELECT d, c, t, 10 * k + ascii(c) % 7 + length(t), CASE WHEN t = 'purchase' THEN 10.25 * k ELSE 0 END
  FROM (VALUES (date '2026-01-10', 1), (date '2026-01-11', 2), ('$TODAY'::date, 3)) AS v(d, k),
       unnest(ARRAY['DE','FR','US','US-CA','US-NY','BR','JP','IT','ES','NL','PL','SE','AT']) AS c,
       unnest(ARRAY['play','purchase','playback_error']) AS t;
INSERT INTO metrics_streaming_content_daily (event_date, content_id, plays, playback_errors, watch_seconds)
SELECT d, 'c-' || i, 10 * i + k, i % 3 + k, 600 * i
  FROM (VALUES (date '2026-01-10', 1), (date '2026-01-11', 2)) AS v(d, k), generate_series(1, 5) AS i;
-- Events per minute: now, 5 minutes ago, and 2 hours ago.
INSERT INTO metrics_streaming_minute (minute, events)
VALUES (date_trunc('minute', now(), 'UTC'), 7),
       (date_trunc('minute', now(), 'UTC') - interval '5 minutes', 11),
       (date_trunc('minute', now(), 'UTC') - interval '2 hours', 13);
-- 1,200 flags over two days, three per window start (ties on window_start).
INSERT INTO compliance_flags (flag_id, rule, rule_version, severity, subject_type, subject_id,
    window_start, window_end, first_event_id, first_event_at, last_event_id, event_count,
    observed, threshold, evidence, kafka_topic, kafka_partition, kafka_offset)
SELECT md5('f' || i)::uuid,
       (ARRAY['eu_no_consent','multi_country','high_frequency','large_purchase'])[1 + i % 4],
       'v1', (ARRAY['low','medium','high'])[1 + (i / 4) % 3],
       (ARRAY['user','content','country'])[1 + i % 3], 'subj-' || (i % 17),
       timestamptz '2026-01-10 00:00:00.123456+00' + (i / 3) * interval '7 minutes',
       timestamptz '2026-01-10 00:05:00+00' + (i / 3) * interval '7 minutes',
       CASE WHEN i % 10 = 0 THEN NULL ELSE md5('e' || i)::uuid END,
       NULL, md5('l' || i)::uuid, i % 9 + 1, (i % 5) + 0.5, 3, jsonb_build_object('n', i),
       CASE WHEN i % 10 = 0 THEN NULL ELSE 'user_events' END, i % 6, i * 10
  FROM generate_series(1, 1200) AS i;
-- Batch: the metrics of 2026-01-11 equal, its flags but one equal.
INSERT INTO metrics_batch_daily SELECT * FROM metrics_streaming_daily WHERE event_date = '2026-01-11';
INSERT INTO metrics_batch_country_daily SELECT * FROM metrics_streaming_country_daily WHERE event_date = '2026-01-11';
INSERT INTO metrics_batch_content_daily SELECT * FROM metrics_streaming_content_daily WHERE event_date = '2026-01-11';
INSERT INTO compliance_flags_batch SELECT * FROM compliance_flags
 WHERE window_start >= '2026-01-11 00:00:00+00' AND window_start < '2026-01-12 00:00:00+00';
UPDATE compliance_flags_batch SET event_count = event_count + 1
 WHERE flag_id = (SELECT flag_id FROM compliance_flags_batch ORDER BY flag_id LIMIT 1);
-- Risk levels and late events.
INSERT INTO compliance_daily (event_date, country, risk_level, events)
SELECT d, c, r, 100 * k + ascii(c) + length(r)
  FROM (VALUES (date '2026-01-10', 1), (date '2026-01-11', 2)) AS v(d, k),
       unnest(ARRAY['DE','FR','US','US-CA','US-NY','BR','GB']) AS c,
       unnest(ARRAY['low','medium','high']) AS r;
INSERT INTO compliance_late (event_date, kafka_partition, events)
VALUES ('2026-01-10', 0, 4), ('2026-01-11', 1, 5), ('2026-01-12', 0, 100);
-- Privacy requests: one pending (with its e-mail), two processed, one old.
INSERT INTO privacy_requests (email, requested_at) VALUES ('$EMAIL', now() - interval '2 hours');
INSERT INTO privacy_requests (email, email_sha256, status, processed_at, requested_at)
VALUES (NULL, 'ab', 'anonymized', now(), now() - interval '1 hour'),
       (NULL, 'cd', 'not_found', now(), now() - interval '1 hour');
INSERT INTO privacy_requests (email, requested_at) VALUES ('old-$EMAIL', now() - interval '40 days');
INSERT INTO privacy_requests (kind, email, email_sha256, status, processed_at)
VALUES ('access', NULL, 'ef', 'exported', now());
-- Stored offsets of two groups.
INSERT INTO stream_offsets (consumer_group, topic, partition, next_offset, cluster_id)
VALUES ('g1', 'user_events', 0, 2, 'x'), ('g1', 'user_events', 1, 3, 'x'),
       ('g2', 'user_events', 0, 5, 'x'), ('g9', 'other_topic', 0, 1, 'x');
" >/dev/null
# Kafka: 5 messages in partition 0, 3 in partition 1.
for i in 1 2 3 4 5; do echo "m$i"; done | kcat -P -b "$BROKERS" -t user_events -p 0 2>>"$T/kcat.log"
for i in 1 2 3; do echo "n$i"; done | kcat -P -b "$BROKERS" -t user_events -p 1 2>>"$T/kcat.log"

R="from=2026-01-10 to=2026-01-11"
RANGE="event_date BETWEEN '2026-01-10' AND '2026-01-11'"
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# -------------------------------------------------------- /stats/summary
q stats/summary $R
assert_eq 200 "$STATUS" "summary status"
assert_eq "$(psql_q "SELECT sum(total_events) FROM metrics_streaming_daily WHERE $RANGE")" "$(j .events)" "summary events"
assert_eq "$(sqlj "SELECT json_object_agg(event_type, n ORDER BY event_type COLLATE \"C\") FROM (
    SELECT t AS event_type, coalesce(sum(total_events), 0) AS n
      FROM unnest(ARRAY['page_view','add_to_cart','purchase','play','pause','seek','stop','playback_error']) t
      LEFT JOIN metrics_streaming_daily m ON m.event_type = t AND m.$RANGE GROUP BY t) x")" \
  "$(j '.by_type | to_entries | sort_by(.key) | from_entries')" "summary by_type (every type, 0 for seek)"
assert_eq "\"$(psql_q "SELECT sum(total_amount) FROM metrics_streaming_daily WHERE $RANGE AND event_type = 'purchase'")\"" \
  "$(j .purchase_amount)" "summary purchase_amount (a string, 2 decimals)"
PLAYS=$(psql_q "SELECT sum(total_events) FROM metrics_streaming_daily WHERE $RANGE AND event_type = 'play'")
ERRS=$(psql_q "SELECT sum(total_events) FROM metrics_streaming_daily WHERE $RANGE AND event_type = 'playback_error'")
assert_eq "$PLAYS $ERRS" "$(jr '"\(.plays) \(.playback_errors)"')" "summary plays and playback_errors"
assert_eq "$(psql_q "SELECT round($ERRS::numeric / ($PLAYS + $ERRS), 4)")" "$(jq -r '.error_rate * 10000 | round / 10000' <<<"$BODY")" "summary error_rate"
assert_eq "$(psql_q "SELECT sum(watch_seconds) FROM metrics_streaming_content_daily WHERE $RANGE")" "$(j .watch_seconds)" "summary watch_seconds"
assert_eq "$(sqlj "SELECT json_agg(json_build_object('country', country, 'events', n) ORDER BY n DESC, country COLLATE \"C\")
                     FROM (SELECT country, sum(total_events) AS n FROM metrics_streaming_country_daily
                            WHERE $RANGE GROUP BY country ORDER BY n DESC, country COLLATE \"C\" LIMIT 10) x")" \
  "$(j .top_countries)" "summary top_countries (10, by events then country)"
[[ $(jr .as_of) =~ $TS_RE ]] || fail "as_of is not RFC 3339 UTC with milliseconds: $(j .as_of)"
pass "as_of is RFC 3339 UTC with milliseconds"
q stats/summary
assert_eq "$TODAY $TODAY $(psql_q "SELECT sum(total_events) FROM metrics_streaming_daily WHERE event_date = '$TODAY'")" \
  "$(jr '"\(.from) \(.to) \(.events)"')" "summary defaults to today"

# ---------------------------------------------- /stats/content, /region
q stats/content c-3 $R
assert_eq 200 "$STATUS" "content status"
assert_eq "$(sqlj "SELECT json_build_object('plays', sum(plays), 'playback_errors', sum(playback_errors), 'watch_seconds', sum(watch_seconds))
                     FROM metrics_streaming_content_daily WHERE content_id = 'c-3' AND $RANGE")" \
  "$(j '{plays, playback_errors, watch_seconds}')" "content totals"
assert_eq '["2026-01-10","2026-01-11"]' "$(j '[.days[].date]')" "content days"
q stats/content c-3 from=2026-01-09 to=2026-01-12
assert_eq '[0,31,32,0]' "$(j '[.days[].plays]')" "content: every day of the range, 0 where none"
q stats/content no-such-title $R
assert_eq "200 0 0" "$STATUS $(j .plays) $(j .error_rate)" "an unknown content_id is zeros"

q stats/region DE $R
assert_eq 200 "$STATUS" "region status"
assert_eq "true $(psql_q "SELECT sum(total_events) FROM metrics_streaming_country_daily WHERE country = 'DE' AND $RANGE")" \
  "$(j .eu) $(j .events)" "region DE: eu, events"
assert_eq "\"$(psql_q "SELECT sum(total_amount) FROM metrics_streaming_country_daily WHERE country = 'DE' AND $RANGE AND event_type = 'purchase'")\"" \
  "$(j .purchase_amount)" "region DE purchase_amount"
q stats/region US $R
assert_eq "false $(psql_q "SELECT sum(total_events) FROM metrics_streaming_country_daily WHERE country ~ '^US(-|$)' AND $RANGE")" \
  "$(j .eu) $(j .events)" "region US counts US, US-CA and US-NY"
q stats/region US-CA $R
assert_eq "$(psql_q "SELECT sum(total_events) FROM metrics_streaming_country_daily WHERE country = 'US-CA' AND $RANGE")" \
  "$(j .events)" "region US-CA counts itself only"
assert_eq "$(sqlj "SELECT json_agg(json_build_object('date', to_char(event_date, 'YYYY-MM-DD'), 'events', n) ORDER BY event_date)
                     FROM (SELECT event_date, sum(total_events) AS n FROM metrics_streaming_country_daily
                            WHERE country = 'US-CA' AND $RANGE GROUP BY 1) x")" "$(j .days)" "region days"
q stats/region ZZ $R
assert_eq "200 0 \"0.00\"" "$STATUS $(j .events) $(j .purchase_amount)" "a country without events is zeros"

# ---------------------------------------------------- /stats/timeseries
q stats/timeseries minutes=10
assert_eq 200 "$STATUS" "timeseries status"
assert_eq "10 $(psql_q "SELECT to_char(date_trunc('minute', now(), 'UTC') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")" \
  "$(j '.minutes | length') $(jr '.minutes[-1].minute')" "timeseries: 10 minutes ending with the current one"
# The minute may have turned between the two reads: then 7 moves left.
case "$(j '[.minutes[].events]')" in
  '[0,0,0,0,11,0,0,0,0,7]'|'[0,0,0,11,0,0,0,0,7,0]') pass "timeseries counts (0 where none, oldest first)" ;;
  *) fail "timeseries counts: $(j '[.minutes[].events]')" ;;
esac
q stats/timeseries
assert_eq 60 "$(j '.minutes | length')" "timeseries default 60 minutes"
q stats/timeseries minutes=1440
assert_eq "1440 13" "$(j '.minutes | length') $(j '[.minutes[].events] | map(select(. == 13)) | length * 13')" "timeseries 1440 minutes"

# ------------------------------------------------------ /stats/pipeline
KAFKA_BOOTSTRAP_SERVERS=$BROKERS q stats/pipeline
assert_eq 200 "$STATUS" "pipeline status"
assert_eq '[{"group":"g1","lag":3,"partitions":[{"high_watermark":5,"lag":3,"next_offset":2,"partition":0},{"high_watermark":3,"lag":0,"next_offset":3,"partition":1}]},{"group":"g2","lag":0,"partitions":[{"high_watermark":5,"lag":0,"next_offset":5,"partition":0}]}]' \
  "$(jq -cS .consumers <<<"$BODY")" "pipeline: lag = high watermark - next_offset per partition and group"
assert_eq '{"date":null,"metrics":"no_batch","compliance":"no_batch"}' "$(j '.lambda | {date, metrics, compliance}')" "pipeline without a batch run"
q stats/pipeline
assert_eq '[null,null,null]' "$(j '[.consumers[0].lag, .consumers[0].partitions[0].lag, .consumers[0].partitions[0].high_watermark]')" \
  "pipeline without Kafka: lag null"
psql_q "INSERT INTO metrics_batch_runs (date_from, date_to, events, started_at) VALUES ('2026-01-11', '2026-01-11', 1, now())"
q stats/pipeline
EXPECT_CDIFF=$(psql_q "SELECT count(*) FROM compliance_flags_compare WHERE (window_start AT TIME ZONE 'UTC')::date = '2026-01-11' AND differs")
assert_eq 1 "$EXPECT_CDIFF" "the view finds the one changed flag"
assert_eq "{\"date\":\"2026-01-11\",\"metrics\":\"equal\",\"compliance\":\"differ\",\"metrics_differences\":0,\"compliance_differences\":$EXPECT_CDIFF}" \
  "$(j '.lambda | {date, metrics, compliance, metrics_differences, compliance_differences}')" "pipeline lambda verdicts of the latest batch date"
psql_q "UPDATE metrics_batch_daily SET total_events = total_events + 1 WHERE event_type = 'play';
        INSERT INTO metrics_batch_runs (date_from, date_to, events, started_at) VALUES ('2026-01-10', '2026-01-10', 1, now())"
q stats/pipeline
assert_eq '{"date":"2026-01-11","metrics":"differ","metrics_differences":1}' "$(j '.lambda | {date, metrics, metrics_differences}')" \
  "pipeline: a differing batch row is seen (and an older run does not move the date)"

# ---------------------------------------------------- /compliance/summary
q compliance/summary $R
assert_eq 200 "$STATUS" "compliance summary status"
FR_RANGE="window_start >= '2026-01-10 00:00:00+00' AND window_start < '2026-01-12 00:00:00+00'"
assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags WHERE $FR_RANGE")" "$(j .total)" "compliance total"
assert_eq "$(sqlj "SELECT json_agg(json_build_object('rule', rule, 'severity', severity, 'flags', n) ORDER BY rule COLLATE \"C\", severity COLLATE \"C\")
                     FROM (SELECT rule, severity, count(*) AS n FROM compliance_flags WHERE $FR_RANGE GROUP BY 1, 2) x")" \
  "$(j '.by_rule | sort_by(.rule, .severity)')" "compliance by_rule"
assert_eq "$(psql_q "SELECT count(*) FROM (SELECT DISTINCT (window_start AT TIME ZONE 'UTC')::date, rule, severity FROM compliance_flags WHERE $FR_RANGE) x")" \
  "$(j '.by_day | length')" "compliance by_day rows"
assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags WHERE window_start >= '2026-01-11 00:00:00+00' AND window_start < '2026-01-12 00:00:00+00'")" \
  "$(j '[.by_day[] | select(.date == "2026-01-11") | .flags] | add')" "compliance by_day counts by the UTC date of window_start"
assert_eq "$(sqlj "SELECT json_object_agg(risk_level, n ORDER BY risk_level COLLATE \"C\") FROM (SELECT risk_level, sum(events) AS n FROM compliance_daily WHERE $RANGE GROUP BY 1) x")" \
  "$(j '.risk | to_entries | sort_by(.key) | from_entries')" "compliance risk levels"
assert_eq 9 "$(j .late_events)" "compliance late events"

# ------------------------------------------------------ /compliance/flags
# walk NAME LIMIT [filters...]: every page until next_cursor is null; the
# flag ids, in order, one per line, in $T/NAME.ids (pages checked on the way).
walk() {
  local name=$1 limit=$2 cursor="" pages=0; shift 2
  : >"$T/$name.ids"
  while :; do
    q compliance/flags "limit=$limit" "$@" ${cursor:+"cursor=$cursor"}
    [ "$STATUS" = 200 ] || fail "flags page $pages of $name: $STATUS $BODY"
    [ "$(j '.items | length')" -le "$limit" ] || fail "a page of $name holds more than $limit"
    jr '.items[].flag_id' >>"$T/$name.ids"
    cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
    pages=$((pages + 1))
    [ -n "$cursor" ] || break
    [ "$(j '.items | length')" -eq "$limit" ] || fail "a page of $name before the last is short"
    [ "$pages" -le 100 ] || fail "more than 100 pages of $name"
  done
  WALK_PAGES=$pages
}
# expect_walk NAME LIMIT "SQL WHERE" [filters...]
expect_walk() {
  local name=$1 limit=$2 where=$3; shift 3
  walk "$name" "$limit" "$@"
  psql_q "SELECT flag_id FROM compliance_flags WHERE $where ORDER BY window_start DESC, flag_id DESC" >"$T/$name.want"
  [ -s "$T/$name.want" ] || fail "$name: the SQL selects nothing (a test without teeth)"
  cmp -s "$T/$name.want" "$T/$name.ids" || { diff "$T/$name.want" "$T/$name.ids" | head -5 >&2; fail "$name: the pages differ from the SQL order"; }
  assert_eq "$(wc -l <"$T/$name.want")" "$(sort -u "$T/$name.ids" | wc -l)" "$name: every flag exactly once, in order ($WALK_PAGES pages)"
}
expect_walk all 97 "true"
expect_walk rule_sev 13 "rule = 'multi_country' AND severity = 'high'" rule=multi_country severity=high
expect_walk subject 7 "subject_type = 'content' AND subject_id = 'subj-4'" subject_type=content subject_id=subj-4
expect_walk day 50 "window_start >= '2026-01-11 00:00:00+00' AND window_start < '2026-01-12 00:00:00+00'" from=2026-01-11 to=2026-01-11
expect_walk since 500 "window_start >= '2026-01-11 00:00:00+00'" from=2026-01-11
q compliance/flags limit=1
assert_eq 1 "$(j '.items | length')" "limit=1"
FLAG=$(j '.items[0]')
assert_eq '["detected_at","event_count","evidence","first_event_id","flag_id","last_event_id","observed","rule","rule_version","severity","subject_id","subject_type","threshold","updated_at","window_end","window_start"]' \
  "$(jq -c 'keys' <<<"$FLAG")" "a FLAG's keys"
for k in window_start window_end detected_at updated_at; do
  [[ $(jq -r ".$k" <<<"$FLAG") =~ $TS_RE ]] || fail "$k is not RFC 3339 UTC with milliseconds"
done
pass "a FLAG's times are RFC 3339 UTC with milliseconds"
assert_eq "$(psql_q "SELECT to_char(max(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM compliance_flags")" \
  "$(jq -r .window_start <<<"$FLAG")" "the first flag is the latest window"
q compliance/flags rule=no_such_rule
assert_eq '{"items":[],"next_cursor":null}' "$(jq -c 'del(.as_of)' <<<"$BODY")" "an unknown rule: no flags"
[[ $(jr .as_of) =~ $TS_RE ]] || fail "an empty page has no as_of"
pass "an empty page carries as_of"

# ------------------------------------------------ /compliance/flags/{id}
ID=$(psql_q "SELECT flag_id FROM compliance_flags WHERE kafka_topic IS NOT NULL ORDER BY flag_id LIMIT 1")
q compliance/flags/id "$ID"
assert_eq "200 $(sqlj "SELECT json_build_object('topic', kafka_topic, 'partition', kafka_partition, 'offset', kafka_offset)
                         FROM compliance_flags WHERE flag_id = '$ID'")" "$STATUS $(j .kafka)" "one flag with its Kafka position"
assert_eq "$ID $(psql_q "SELECT event_count || ' ' || (evidence->>'n') FROM compliance_flags WHERE flag_id = '$ID'")" \
  "$(jr '"\(.flag_id) \(.event_count) \(.evidence.n)"')" "the flag's id, event count and evidence"
q compliance/flags/id "${ID^^}"
assert_eq "200 \"$ID\"" "$STATUS $(j .flag_id)" "an upper-case flag id is the same flag"
NOPOS=$(psql_q "SELECT flag_id FROM compliance_flags WHERE kafka_topic IS NULL LIMIT 1")
q compliance/flags/id "$NOPOS"
assert_eq "200 null null" "$STATUS $(j .kafka) $(j .first_event_id)" "a flag without events: kafka and first_event_id null"
expect 404 not_found "an unknown flag" compliance/flags/id 00000000-0000-4000-8000-000000000000
expect 400 invalid_parameter "a flag id that is not a UUID" compliance/flags/id "1' OR '1'='1"

# --------------------------------------------------- /compliance/regions
q compliance/regions $R
assert_eq 200 "$STATUS" "regions status"
assert_eq "$(sqlj "SELECT json_agg(json_build_object('country', country, 'events', e, 'risk',
                       json_build_object('high', h, 'low', l, 'medium', m)) ORDER BY e DESC, country COLLATE \"C\")
                     FROM (SELECT country, sum(events) e, sum(events) FILTER (WHERE risk_level = 'low') l,
                                  sum(events) FILTER (WHERE risk_level = 'medium') m,
                                  sum(events) FILTER (WHERE risk_level = 'high') h
                             FROM compliance_daily WHERE $RANGE GROUP BY country) x")" \
  "$(jq -cS '[.countries[] | del(.eu)]' <<<"$BODY" | jq -c 'map({country, events, risk})')" "regions: countries by events"
assert_eq '{"BR":false,"DE":true,"FR":true,"GB":false,"US":false,"US-CA":false,"US-NY":false}' \
  "$(j '[.countries[] | {(.country): .eu}] | add | to_entries | sort_by(.key) | from_entries')" "regions: EU membership (common/sg_country)"
group_sql() {
  sqlj "SELECT json_build_object('events', sum(events), 'high', sum(events) FILTER (WHERE risk_level = 'high'),
          'low', sum(events) FILTER (WHERE risk_level = 'low'), 'medium', sum(events) FILTER (WHERE risk_level = 'medium'))
          FROM compliance_daily WHERE $RANGE AND $1"
}
assert_eq "$(group_sql "country IN ('DE', 'FR')")" "$(jq -cS .groups.eu <<<"$BODY")" "regions group eu"
assert_eq "$(group_sql "country NOT IN ('DE', 'FR')")" "$(jq -cS .groups.non_eu <<<"$BODY")" "regions group non_eu"
assert_eq "$(group_sql "country = 'US-CA'")" "$(jq -cS .groups.us_ca <<<"$BODY")" "regions group us_ca"
assert_eq "$(group_sql "country IN ('US', 'US-NY')")" "$(jq -cS .groups.us_other <<<"$BODY")" "regions group us_other"

# ---------------------------------------------------- /privacy-requests
PENDING_ID=$(psql_q "SELECT id FROM privacy_requests WHERE email = '$EMAIL'")
q privacy-requests/id "$PENDING_ID"
assert_eq '200 ["error","id","kind","processed_at","requested_at","status"]' "$STATUS $(j keys)" "a privacy request's keys (no email)"
assert_eq "$PENDING_ID \"erasure\" \"pending\" null null" "$(j .id) $(j .kind) $(j .status) $(j .processed_at) $(j .error)" "a pending request"
DONE_ID=$(psql_q "SELECT id FROM privacy_requests WHERE status = 'anonymized'")
q privacy-requests/id "$DONE_ID"
[[ $(jq -r .processed_at <<<"$BODY") =~ $TS_RE ]] || fail "processed_at is not RFC 3339 UTC with milliseconds"
pass "a processed request has its processed_at"
expect 404 not_found "an unknown request" privacy-requests/id 999999
expect 400 invalid_parameter "request id 0" privacy-requests/id 0
expect 400 invalid_parameter "request id -1" privacy-requests/id -1
expect 400 invalid_parameter "request id 1;DROP" privacy-requests/id "1;DROP TABLE x"
expect 400 invalid_parameter "request id over 2^63" privacy-requests/id 9223372036854775808
q privacy-requests/summary
assert_eq 200 "$STATUS" "privacy summary status"
assert_eq '{"pending":2,"overdue":1,"limit_days":30}' "$(j '{pending, overdue, limit_days}')" "privacy summary counts"
AGE=$(j .oldest_pending_age_seconds)
[ "$AGE" -ge $((40 * 86400)) ] && [ "$AGE" -lt $((40 * 86400 + 600)) ] || fail "oldest_pending_age_seconds $AGE is not ~40 days"
pass "oldest pending age ~40 days"
assert_eq '{"already_anonymized":0,"anonymized":1,"exported":1,"failed":0,"not_found":1,"pending":2}' "$(jq -cS .by_status <<<"$BODY")" "privacy summary by status"

# -------------------------------------------------------- bad parameters
expect 400 invalid_parameter "from not a date" stats/summary from=2026-13-01
expect 400 invalid_parameter "to before from" stats/summary from=2026-01-11 to=2026-01-10
expect 400 invalid_parameter "367 days" compliance/summary from=2025-01-01 to=2026-01-02
expect 400 invalid_parameter "minutes=0" stats/timeseries minutes=0
expect 400 invalid_parameter "minutes=1441" stats/timeseries minutes=1441
expect 400 invalid_parameter "limit=0" compliance/flags limit=0
expect 400 invalid_parameter "limit=501" compliance/flags limit=501
expect 400 invalid_parameter "limit=abc" compliance/flags limit=abc
expect 400 invalid_parameter "severity=critical" compliance/flags severity=critical
expect 400 invalid_parameter "subject_type=device" compliance/flags subject_type=device
expect 400 invalid_parameter "rule with capitals" compliance/flags rule=EU_rule
expect 400 invalid_parameter "subject_id with a quote" compliance/flags "subject_id=a'b"
expect 400 invalid_parameter "flags from=2026-02-30" compliance/flags from=2026-02-30
expect 400 invalid_parameter "a malformed cursor" compliance/flags cursor=not-a-cursor
CUR=$(printf '1.%s' "$ID" | base64 -w0 | tr '+/' '-_' | tr -d '=')
q compliance/flags "cursor=$CUR"
assert_eq 200 "$STATUS" "a well-formed cursor (URL-safe base64 of <µs>.<uuid>) is a position"
expect 400 invalid_parameter "a cursor with padding" compliance/flags "cursor=${CUR}="
expect 400 invalid_parameter "content_id with a space" stats/content "c 1"
expect 400 invalid_parameter "lower-case country" stats/region de
expect 400 invalid_parameter "a country too long" stats/region US-CALI
expect 400 invalid_parameter "an e-mail as a date" stats/summary "to=$EMAIL"
grep -F -- '"code":"invalid_parameter"' "$T/bodies" | grep -qvE '"detail":"[a-z_, ]+:' \
  && fail "a 400's detail does not start with the parameter's name"
pass "every 400 names its parameter"

# --------------------------------------------------------- lost database
API_QUERY_DRIVER_DROP=1 q compliance/flags
assert_eq '503 {"code":"unavailable","detail":"the database is unreachable","db_lost":true}' "$STATUS $BODY" \
  "a connection lost under the query: 503 unavailable, db_lost"
sed -i '/query failed: compliance flags/d' "$T/driver.log"

# ----------------------------------------------------------------- privacy
grep -qiF -- "$EMAIL" "$T/bodies" && fail "an answer holds the e-mail"
pass "no answer holds the e-mail (also not inside a 400's detail)"
jq -e '[.. | objects | has("email")] | any' "$T/bodies" 2>/dev/null | grep -q true && fail "an answer has an 'email' key"
pass "no answer has an 'email' key"
grep -qiE 'ERROR|AddressSanitizer|runtime error' "$T/driver.log" && { cat "$T/driver.log" >&2; fail "the driver logged an error"; }
pass "the driver logged no error"
