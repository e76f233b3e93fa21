#!/usr/bin/env bash
# sg-report against fixed rows: the reports are compared with committed
# golden files (tests/integration/golden/, the "Generated at" line
# stripped), the SVGs are parsed as XML and their bars checked against the
# counts inserted, the GDPR audit and the compliance report hold no e-mail
# address although pending requests and users_pii have them, all work as
# the read-only analytics role, a second run gives the same bytes, a day
# without events and an unreachable database exit 1, bad flags exit 2.
# The compliance report's figures (high flags, p95 from cause to delivery,
# dead deliveries by error, overdue requests, the top 10, the 7 days) are
# also checked against SQL, independently of its golden file.
#
# After an intended change of a report, regenerate the golden files with
#   SG_UPDATE_GOLDEN=1 ctest -R integration/test_reports
# (or SG_UPDATE_GOLDEN=1 bash tests/integration/test_reports.sh with
# SG_BIN set), review the diff, and commit them.
source "$(dirname "$0")/lib.sh"

GOLDEN=$SG_SRC/tests/integration/golden
DATE=2026-01-15
OUT=$T/out

db_create

# ---- fixed rows -------------------------------------------------------
# Events of 2026-01-15, one line per (hour, type): how many events, how
# many distinct users they rotate over (user ids <prefix>0, <prefix>1, ...),
# the country, currency, amount, content id and watch seconds. Event i of
# a line happens at minute i-1 of its hour. Hours 00 and 23 test the
# day's edges; two events of the days around it must not count.
cat >"$T/hourly.txt" <<'EOF'
0 page_view 4 10 u DE EUR 0 - -
1 page_view 2 10 u US USD 0 - -
8 page_view 12 10 u DE EUR 0 - -
9 page_view 15 10 u FR EUR 0 - -
9 add_to_cart 5 5 u FR EUR 0 - -
10 purchase 3 3 u DE EUR 49.90 - -
11 purchase 2 3 u US USD 1200.00 - -
12 purchase 1 3 u JP JPY 15000.00 - -
13 purchase 2 3 u GB GBP 19.99 - -
14 purchase 1 3 u FR EUR 999999.99 - -
15 purchase 1 3 u SE SEK 250.00 - -
15 purchase 1 3 u AT EUR 250.00 - -
16 purchase 1 3 u US EUR 5.00 - -
18 play 20 5 v DE EUR 0 c-002 -
19 play 10 5 v US USD 0 c-001 -
19 playback_error 3 5 v DE EUR 0 c-002 -
20 playback_error 3 5 v US USD 0 c-001 -
20 stop 10 5 v DE EUR 0 c-002 1800
21 pause 4 5 v DE EUR 0 c-002 -
21 seek 2 5 v DE EUR 0 c-002 -
23 page_view 6 10 u DE EUR 0 - -
EOF

sql_lines=""
n=0
while read -r hour type count users prefix country currency amount content watch; do
  n=$((n + 1))
  [ "$content" = - ] && content=NULL || content="'$content'"
  [ "$watch" = - ] && watch=NULL
  sql_lines+="${sql_lines:+,}($n,$hour,'$type',$count,$users,'$prefix','$country','$currency',$amount,$content,$watch)"
done <"$T/hourly.txt"

psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date,
                        country, is_eu, amount, currency, content_id, watch_seconds,
                        kafka_topic, kafka_partition, kafka_offset)
SELECT md5('ev-' || s.line || '-' || i)::uuid,
       md5(s.prefix || ((i - 1) % s.users))::uuid,
       s.type,
       timestamptz '$DATE 00:00:00+00' + make_interval(hours => s.hour, mins => i - 1),
       date '$DATE', s.country, s.country NOT IN ('US', 'JP', 'GB'),
       s.amount, s.currency, s.content, s.watch,
       'user_events', s.line % 3, s.line * 100 + i
  FROM (VALUES $sql_lines) AS s(line, hour, type, n, users, prefix, country, currency,
                                amount, content, watch),
       generate_series(1, s.n) AS i;
-- The days around it: never counted on $DATE.
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date,
                        country, is_eu, amount, currency, kafka_topic, kafka_partition,
                        kafka_offset)
VALUES (md5('before')::uuid, md5('w0')::uuid, 'purchase', '2026-01-14 23:59:59.999+00',
        '2026-01-14', 'DE', true, 77.00, 'EUR', 'user_events', 0, 9000),
       (md5('after')::uuid, md5('w1')::uuid, 'page_view', '2026-01-16 00:00:00+00',
        '2026-01-16', 'DE', true, 0, 'EUR', 'user_events', 0, 9001);
"

# Batch and streaming daily metrics: equal to the events but for one
# deliberate difference (streaming counted one page_view more), and a
# batch run covering the date.
psql_q "
INSERT INTO metrics_batch_daily (event_date, event_type, total_events, total_amount)
SELECT event_date, event_type, count(*), sum(amount) FROM events_raw
 WHERE event_date = '$DATE' GROUP BY 1, 2;
INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
SELECT event_date, event_type, count(*), sum(amount) FROM events_raw
 WHERE event_date = '$DATE' GROUP BY 1, 2;
UPDATE metrics_streaming_daily SET total_events = total_events + 1
 WHERE event_date = '$DATE' AND event_type = 'page_view';
INSERT INTO metrics_streaming_daily (event_date, event_type, total_events, total_amount)
VALUES ('2026-01-14', 'purchase', 1, 77.00);
INSERT INTO metrics_batch_runs (id, date_from, date_to, events, started_at, finished_at)
VALUES (7, '2026-01-15', '2026-01-15', 108, '2026-01-16 02:00:00+00', '2026-01-16 02:00:04+00');
"

# Privacy requests in every status. Requests of $DATE: processed in
# 0.25 s .. 2 min, one processed after midnight (pending at the reference
# time), one still pending with its e-mail, one anonymized without an
# audit row. Earlier ones: pending for 40 and 46 days (SLA breaches; one
# processed only after the reference time), 27 days (no breach), one
# processed long ago; one made after the reference time.
psql_q "
INSERT INTO privacy_requests (id, email, email_sha256, requested_at, processed_at, status,
                              user_id, error)
VALUES
 (101, NULL, repeat('a', 64), '$DATE 08:00:00+00', '$DATE 08:00:00.25+00', 'anonymized', md5('p1')::uuid, NULL),
 (102, NULL, repeat('b', 64), '$DATE 09:30:00+00', '$DATE 09:30:01.5+00', 'anonymized', md5('p2')::uuid, NULL),
 (103, NULL, repeat('c', 64), '$DATE 10:00:00+00', '$DATE 10:00:03+00', 'already_anonymized', md5('p1')::uuid, NULL),
 (104, NULL, repeat('d', 64), '$DATE 12:00:00+00', '$DATE 12:00:00.8+00', 'not_found', NULL, NULL),
 (105, NULL, NULL, '$DATE 14:00:00+00', '$DATE 14:00:45+00', 'failed', NULL, 'the request has no e-mail'),
 (106, NULL, repeat('e', 64), '$DATE 23:00:00+00', '2026-01-16 00:30:00+00', 'anonymized', md5('p6')::uuid, NULL),
 (107, 'late.request@example.com', NULL, '$DATE 23:50:00+00', NULL, 'pending', NULL, NULL),
 (108, NULL, repeat('f', 64), '$DATE 16:00:00+00', '$DATE 16:02:00+00', 'anonymized', md5('p8')::uuid, NULL),
 (90, 'old.one@example.org', NULL, '2025-12-06 09:00:00+00', NULL, 'pending', NULL, NULL),
 (91, 'Old.Two@Example.org ', NULL, '2025-12-06 10:00:00+00', NULL, 'pending', NULL, NULL),
 (92, 'recent.pending@example.net', NULL, '2025-12-20 00:00:00+00', NULL, 'pending', NULL, NULL),
 (93, NULL, repeat('9', 64), '2025-12-01 08:00:00+00', '2025-12-01 08:00:02+00', 'anonymized', md5('p93')::uuid, NULL),
 (94, NULL, repeat('8', 64), '2025-12-01 12:00:00+00', '2026-01-20 00:00:00+00', 'anonymized', md5('p94')::uuid, NULL),
 (120, 'future@example.com', NULL, '2026-01-16 01:00:00+00', NULL, 'pending', NULL, NULL);
INSERT INTO gdpr_audit_log (request_id, user_id, action, affected_columns, processing_ms, created_at)
VALUES
 (101, md5('p1')::uuid, 'anonymize_user', '{email,first_name}', 250, '$DATE 08:00:00.25+00'),
 (102, md5('p2')::uuid, 'anonymize_user', '{email}', 1500, '$DATE 09:30:01.5+00'),
 (103, md5('p1')::uuid, 'already_anonymized', '{}', 3000, '$DATE 10:00:03+00'),
 (104, NULL, 'not_found', '{}', 800, '$DATE 12:00:00.8+00'),
 (105, NULL, 'failed', '{}', 45000, '$DATE 14:00:45+00'),
 (106, md5('p6')::uuid, 'anonymize_user', '{email}', 5400000, '2026-01-16 00:30:00+00'),
 (93, md5('p93')::uuid, 'anonymize_user', '{email}', 2000, '2025-12-01 08:00:02+00');
"
pass "fixed rows inserted"

# ---- the reports ------------------------------------------------------
strip_generated() { grep -v '^Generated at ' "$1"; }

# golden_check FILE: the file (its "Generated at" line stripped) equals
# its golden copy; SG_UPDATE_GOLDEN=1 rewrites the golden copy instead.
golden_check() {
  local name; name=$(basename "$1")
  if [ -n "${SG_UPDATE_GOLDEN:-}" ]; then
    mkdir -p "$GOLDEN"
    strip_generated "$1" >"$GOLDEN/$name"
    log "updated golden file $GOLDEN/$name"
  fi
  [ -f "$GOLDEN/$name" ] || fail "no golden file $GOLDEN/$name (run with SG_UPDATE_GOLDEN=1)"
  if ! diff -u "$GOLDEN/$name" <(strip_generated "$1") >"$T/$name.diff"; then
    cat "$T/$name.diff" >&2
    fail "$name differs from its golden file"
  fi
  pass "$name matches its golden file"
}

sg-report daily --date "$DATE" --output-dir "$OUT" >"$T/daily.out" 2>"$T/daily.log" \
  || { cat "$T/daily.log" >&2; fail "sg-report daily exit status"; }
sg-report gdpr-audit --date "$DATE" --output-dir "$OUT" >"$T/gdpr.out" 2>"$T/gdpr.log" \
  || { cat "$T/gdpr.log" >&2; fail "sg-report gdpr-audit exit status"; }
cat "$T/daily.out" "$T/gdpr.out" >&2
MD=$OUT/business_report_$DATE.md
SVG=$OUT/business_report_${DATE}_events_per_hour.svg
GD=$OUT/gdpr_audit_$DATE.md
for f in "$MD" "$SVG" "$GD"; do [ -s "$f" ] || fail "$f not written"; done
assert_eq 1 "$(grep -c '^Generated at ' "$MD")" "Generated-at lines in the daily report"
assert_eq 1 "$(grep -c '^Generated at ' "$GD")" "Generated-at lines in the GDPR audit"
grep -q "^Business report $DATE: 108 events" "$T/daily.out" || fail "console summary of daily"
grep -q "^Batch vs streaming: differs (1 of 8 event types)" "$T/daily.out" || fail "console verdict"
grep -q "^GDPR audit $DATE: 8 requests" "$T/gdpr.out" || fail "console summary of gdpr-audit"
pass "console summaries"

golden_check "$MD"
golden_check "$SVG"
golden_check "$GD"

# A few figures checked against the SQL, independently of the golden files.
revenue=$(psql_q "SELECT to_char(sum(amount), 'FM9,999,999,990.00') FROM events_raw WHERE event_date = '$DATE' AND event_type = 'purchase'")
grep -qE "^\| Revenue \(sum of amounts, all currencies\) +\| +$revenue \|$" "$MD" || fail "revenue $revenue in the KPI table"
grep -qF "**Verdict: differs.** 1 of 8 event types differ" "$MD" || fail "verdict line"
grep -qF '![Events per hour](business_report_2026-01-15_events_per_hour.svg)' "$MD" || fail "relative chart link"
grep -qF '`c-001` (3 errors)' "$MD" || fail "content with the most errors (tie broken by id)"
pass "revenue, verdict, chart link and worst content"

# ---- the SVG ----------------------------------------------------------
python3 - "$SVG" "$T/hourly.txt" <<'EOF' || fail "SVG check"
import sys, xml.etree.ElementTree as E
svg, spec = sys.argv[1], sys.argv[2]
ns = '{http://www.w3.org/2000/svg}'
root = E.parse(svg).getroot()          # well-formed XML or an exception
assert root.tag == ns + 'svg', root.tag
assert root.get('viewBox') == '0 0 960 540', root.get('viewBox')
assert root.find(ns + 'title') is not None, 'no <title>'
text = open(svg, encoding='utf-8').read()
for bad in ('<script', 'href', '<image', '<foreignObject', '@import', 'url('):
    assert bad not in text, 'external or active content: ' + bad
expected = {}
for line in open(spec):
    f = line.split()
    key = (int(f[0]), f[1])
    expected[key] = expected.get(key, 0) + int(f[2])
group = root.find(".//%sg[@class='bars']" % ns)
axis_max = float(group.get('data-axis-max'))
plot_h = float(group.get('data-plot-height'))
base = float(group.get('data-baseline'))
bars = group.findall(ns + 'rect')
got = {}
for b in bars:
    assert b.get('class') == 'bar'
    key = (int(b.get('data-hour')), b.get('data-type'))
    n = int(b.get('data-count'))
    got[key] = n
    h = float(b.get('height'))
    assert abs(h - n * plot_h / axis_max) <= 0.011, (key, n, h)
    assert float(b.get('y')) + h <= base + 0.011, key
    t = b.find(ns + 'title').text
    assert t.startswith('%02d:00-' % key[0]) and (': %d event' % n) in t, t
assert got == expected, (sorted(got.items()), sorted(expected.items()))
# The tallest hour reaches at most the top of the axis.
per_hour = {}
for (h, _), n in expected.items():
    per_hour[h] = per_hour.get(h, 0) + n
assert max(per_hour.values()) <= axis_max
print('svg ok: %d bars, axis max %d' % (len(bars), axis_max))
EOF
pass "SVG parses as XML, $(grep -c 'class="bar"' "$SVG") bars match the hourly counts"

# ---- no PII in the GDPR audit ----------------------------------------
assert_eq 5 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE email LIKE '%@%'")" \
  "requests holding an e-mail"
assert_eq 0 "$(grep -c '@' "$GD" || true)" "'@' in the GDPR audit"
assert_eq 0 "$(grep -ci 'example\.' "$GD" "$T/gdpr.out" "$T/gdpr.log" | awk -F: '{s += $2} END {print s}')" \
  "e-mail domains in the GDPR audit, its summary or its log"

# ---- the analytics role gets the same reports -------------------------
sg-report daily --date "$DATE" --output-dir "$T/analytics" --dsn "$ANALYTICS_DSN" >/dev/null 2>"$T/an-daily.log" \
  || { cat "$T/an-daily.log" >&2; fail "sg-report daily as sg_analytics"; }
sg-report gdpr-audit --date "$DATE" --output-dir "$T/analytics" --dsn "$ANALYTICS_DSN" >/dev/null 2>"$T/an-gdpr.log" \
  || { cat "$T/an-gdpr.log" >&2; fail "sg-report gdpr-audit as sg_analytics"; }
for f in "$MD" "$GD"; do
  diff <(strip_generated "$f") <(strip_generated "$T/analytics/$(basename "$f")") >/dev/null \
    || fail "$(basename "$f") differs as sg_analytics"
done
cmp -s "$SVG" "$T/analytics/$(basename "$SVG")" || fail "SVG differs as sg_analytics"
pass "sg_analytics (no access to users_pii or privacy_requests.email) gets the same reports"

# ---- deterministic: a second run, the same bytes ----------------------
mkdir -p "$T/first"
cp "$MD" "$SVG" "$GD" "$T/first/"
sleep 1.1   # a different "Generated at" second
sg-report daily --date "$DATE" --output-dir "$OUT" >/dev/null 2>>"$T/daily.log" || fail "second daily run"
sg-report gdpr-audit --date "$DATE" --output-dir "$OUT" >/dev/null 2>>"$T/gdpr.log" || fail "second gdpr-audit run"
for f in "$MD" "$GD"; do
  b=$(basename "$f")
  changed=$(diff "$T/first/$b" "$f" | grep -c '^[<>]' || true)
  [ "$changed" -le 2 ] || fail "$b: $changed lines changed between runs"
  diff <(strip_generated "$T/first/$b") <(strip_generated "$f") >/dev/null || fail "$b differs between runs"
done
cmp -s "$T/first/$(basename "$SVG")" "$SVG" || fail "SVG differs between runs"
ls "$OUT" | grep -q '\.tmp\.' && fail "temporary files left in $OUT"
pass "a second run gives the same bytes but for the Generated-at line"

# ---- other dates ------------------------------------------------------
# 2026-01-14: one purchase stored, streaming metrics but no batch run.
sg-report daily --date 2026-01-14 --output-dir "$OUT" >"$T/d14.out" 2>"$T/d14.log" || fail "daily 2026-01-14"
grep -qF '**Verdict: batch not run yet.**' "$OUT/business_report_2026-01-14.md" || fail "batch-not-run verdict"
grep -qF 'Batch vs streaming: batch not run yet' "$T/d14.out" || fail "batch-not-run console verdict"
pass "a date no batch run covered says 'batch not run yet'"

# A date without events: exit 1, the file says so, no zeros as facts.
rc_of sg-report daily --date 2026-01-10 --output-dir "$OUT" >"$T/empty.out" 2>"$T/empty.log"; rc=$RC
assert_eq 1 "$rc" "sg-report daily exit status for a date without events"
E=$OUT/business_report_2026-01-10.md
grep -qF '**No events stored for 2026-01-10.**' "$E" || fail "the empty report does not say so"
grep -q 'Total events\|Revenue' "$E" && fail "the empty report shows figures"
[ ! -e "$OUT/business_report_2026-01-10_events_per_hour.svg" ] || fail "a chart for a day without events"
grep -q 'No events stored for 2026-01-10' "$T/empty.log" || fail "no message on stderr"
pass "a date without events: exit 1 and the report says so"

# A day without privacy requests is a normal day: the audit is written
# (backlog, SLA) and the run succeeds.
rc_of sg-report gdpr-audit --date 2026-01-10 --output-dir "$OUT" >"$T/gempty.out" 2>"$T/gempty.log"
assert_eq 0 "$RC" "sg-report gdpr-audit exit status for a date without requests"
! grep -q " WARN \| ERROR " "$T/gempty.log" || { cat "$T/gempty.log" >&2; fail "a quiet day logged a warning"; }
grep -qF '**No privacy requests were made on 2026-01-10.**' "$OUT/gdpr_audit_2026-01-10.md" \
  || fail "the empty GDPR audit does not say so"
grep -q "^| Pending requests (any request date) *| *4 |" "$OUT/gdpr_audit_2026-01-10.md" \
  || fail "the backlog at 2026-01-11 00:00 (requests 90, 91, 92, 94 pending)"
pass "a date without requests: exit 0, the audit says so and still shows the backlog"

# ---- unreachable database: bounded retry, one clear line, exit 1 -------
start=$(date +%s)
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" \
  rc_of sg-report daily --date "$DATE" --output-dir "$T/nodb" >"$T/nodb.out" 2>"$T/nodb.err"
rc=$RC
elapsed=$(($(date +%s) - start))
cat "$T/nodb.err" >&2
assert_eq 1 "$rc" "exit status with the database unreachable"
assert_eq 1 "$(wc -l <"$T/nodb.err")" "stderr lines with the database unreachable"
grep -q 'PostgreSQL unreachable, gave up after attempts=[0-9]* in [0-9]* s' "$T/nodb.err" || fail "unclear message"
[ "$elapsed" -ge 10 ] && [ "$elapsed" -le 25 ] || fail "gave up after ${elapsed}s, expected about 15 s"
[ ! -e "$T/nodb" ] || fail "output written without a database"
pass "unreachable database: one line after ${elapsed}s of retries, exit 1"
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" \
  rc_of sg-report gdpr-audit --retry-for 0 --output-dir "$T/nodb" >/dev/null 2>"$T/nodb0.err"
rc=$RC
assert_eq 1 "$rc" "exit status with --retry-for 0"
assert_eq 1 "$(wc -l <"$T/nodb0.err")" "stderr lines with --retry-for 0"

# ---- usage errors -----------------------------------------------------
rc_of sg-report >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report without a report"
rc_of sg-report weekly >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report weekly"
rc_of sg-report daily extra >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report daily extra"
rc_of sg-report daily --bogus >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report daily --bogus"
rc_of sg-report daily --date 2026-02-30 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report daily --date 2026-02-30"
rc_of sg-report daily --date 15.01.2026 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report daily --date 15.01.2026"
rc_of sg-report daily --from 2026-01-01 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report daily --from (one date only)"
rc_of sg-report gdpr-audit --retry-for -1 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report gdpr-audit --retry-for -1"
rc_of sg-report gdpr-audit --output-dir '' >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report gdpr-audit --output-dir ''"
sg-report --date "$DATE" --output-dir "$T/order" daily >/dev/null 2>&1 || fail "flags before the report name"
pass "flags may come before the report name"

# ---- the compliance report ---------------------------------------------
# Flags of several rules and severities over 8 days (window_start decides
# the day: one flag of D-1 detected on D, one at D 23:59:59.999, one at
# D+1 00:00), compliance_daily and compliance_late rows of D and D-1,
# alerts of D, D-1 and D+1 with deliveries in every state and fixed
# cause_at/sent_at, users with e-mails in users_pii. The privacy requests
# above are open at various ages at the end of D (90, 91, 94 overdue);
# 95 is exactly 30 days old then: at the limit, not over it.
psql_q "
INSERT INTO privacy_requests (id, email, requested_at, status)
VALUES (95, 'at.the.limit@example.com', '2025-12-17 00:00:00+00', 'pending');
INSERT INTO users_pii (user_id, email, first_name, last_name, country)
VALUES (md5('u0')::uuid, 'alice.flagged@example.com', 'Alice', 'Flagged', 'DE'),
       (md5('u1')::uuid, 'bob.flagged@example.org', 'Bob', 'Flagged', 'FR'),
       (md5('u2')::uuid, 'carol.flagged@example.net', 'Carol', 'Flagged', 'GB');
INSERT INTO compliance_flags (flag_id, rule, rule_version, severity, subject_type, subject_id,
                              window_start, window_end, first_event_id, first_event_at,
                              event_count, observed, threshold, evidence, detected_at, updated_at)
SELECT md5(f.rule || f.subject || f.ws)::uuid, f.rule, 'fixture', f.sev, f.stype,
       CASE WHEN f.stype = 'user' THEN md5(f.subject)::text ELSE f.subject END,
       f.ws::timestamptz, f.ws::timestamptz + interval '1 hour',
       f.ev, CASE WHEN f.ev IS NOT NULL THEN f.ws::timestamptz END,
       1, 1, 0, '{}', coalesce(f.det, f.ws)::timestamptz, coalesce(f.det, f.ws)::timestamptz
  FROM (VALUES
   -- D: 7 high, 4 medium, 8 low on 13 subjects
   ('eu_no_consent', 'high', 'user', 'u0', '$DATE 00:00:00+00', md5('ev-1-1')::uuid, NULL),
   ('eu_no_consent', 'high', 'user', 'u1', '$DATE 09:00:00+00', md5('ev-4-2')::uuid, NULL),
   ('do_not_track', 'high', 'user', 'u0', '$DATE 08:00:00+00', md5('ev-3-1')::uuid, NULL),
   ('large_purchase', 'medium', 'user', 'u1', '$DATE 11:00:00+00', md5('ev-7-1')::uuid, NULL),
   ('large_purchase', 'high', 'user', 'u2', '$DATE 13:00:00+00', md5('ev-9-1')::uuid, NULL),
   ('purchase_burst', 'high', 'user', 'u2', '$DATE 23:59:59.999+00', md5('ev-9-2')::uuid, '2026-01-16 00:00:05+00'),
   ('multi_country', 'medium', 'user', 'u0', '$DATE 08:30:00+00', md5('ev-3-2')::uuid, NULL),
   ('multi_country', 'high', 'user', 'u3', '$DATE 09:10:00+00', md5('ev-4-3')::uuid, NULL),
   ('high_frequency', 'low', 'user', 'u0', '$DATE 12:00:00+00', md5('not-stored')::uuid, NULL),
   ('high_frequency', 'low', 'user', 'u1', '$DATE 01:00:00+00', md5('ev-2-1')::uuid, NULL),
   ('high_frequency', 'low', 'user', 'x1', '$DATE 14:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'x2', '$DATE 14:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'x3', '$DATE 14:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'x4', '$DATE 14:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'x5', '$DATE 14:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'x6', '$DATE 14:00:00+00', NULL, NULL),
   ('content_error_rate', 'high', 'content', 'c-002', '$DATE 19:00:00+00', NULL, NULL),
   ('traffic_anomaly', 'medium', 'country', 'DE', '$DATE 10:00:00+00', NULL, NULL),
   ('traffic_anomaly', 'medium', 'country', 'FR', '$DATE 10:05:00+00', NULL, NULL),
   -- the days around it
   ('eu_no_consent', 'high', 'user', 'u0', '2026-01-08 00:00:00+00', NULL, NULL),
   ('eu_no_consent', 'high', 'user', 'u1', '2026-01-08 00:00:00+00', NULL, NULL),
   ('high_frequency', 'low', 'user', 'u0', '2026-01-09 10:00:00+00', NULL, NULL),
   ('multi_network', 'medium', 'user', 'u0', '2026-01-11 10:00:00+00', NULL, NULL),
   ('multi_network', 'medium', 'user', 'u1', '2026-01-11 10:00:00+00', NULL, NULL),
   ('do_not_track', 'high', 'user', 'u1', '2026-01-11 00:00:00+00', NULL, NULL),
   ('eu_no_consent', 'high', 'user', 'u2', '2026-01-13 00:00:00+00', NULL, NULL),
   ('multi_country', 'medium', 'user', 'u2', '2026-01-14 23:30:00+00', NULL, '$DATE 00:10:00+00'),
   ('do_not_track', 'high', 'user', 'u0', '2026-01-16 00:00:00+00', NULL, NULL)
  ) AS f(rule, sev, stype, subject, ws, ev, det);
INSERT INTO compliance_daily (event_date, country, risk_level, events)
VALUES ('$DATE', 'DE', 'low', 50), ('$DATE', 'DE', 'medium', 10), ('$DATE', 'DE', 'high', 5),
       ('$DATE', 'FR', 'low', 20), ('$DATE', 'FR', 'medium', 2), ('$DATE', 'FR', 'high', 5),
       ('$DATE', 'US', 'low', 30), ('$DATE', 'GB', 'high', 1),
       ('2026-01-14', 'DE', 'high', 99);
INSERT INTO compliance_late (event_date, kafka_partition, events)
VALUES ('$DATE', 0, 3), ('$DATE', 2, 1), ('$DATE', -1, 2), ('2026-01-14', 0, 9);
INSERT INTO alerts (alert_id, source, kind, severity, subject_type, subject_id, summary,
                    cause_at, created_at, routed_at)
SELECT md5('alert-' || a.n)::uuid, 'compliance', 'eu_no_consent', 'high', 'user',
       md5('u0')::text, 'alert ' || a.n, a.cause::timestamptz,
       a.cause::timestamptz + interval '0.1 s',
       CASE WHEN a.routed THEN a.cause::timestamptz + interval '0.2 s' END
  FROM (VALUES (1, '$DATE 10:00:00+00', true), (2, '$DATE 11:00:00+00', true),
               (3, '$DATE 12:00:00+00', true), (4, '$DATE 13:00:00+00', true),
               (5, '$DATE 14:00:00+00', true), (6, '$DATE 15:00:00+00', false),
               (7, '2026-01-14 12:00:00+00', true), (8, '2026-01-16 00:00:00+00', true))
       AS a(n, cause, routed);
INSERT INTO alert_deliveries (alert_id, sink, status, attempts, last_error, digest_id,
                              created_at, sent_at)
SELECT md5('alert-' || d.n)::uuid, d.sink, d.status, d.attempts, d.err,
       CASE WHEN d.status = 'digested' THEN md5('digest')::uuid END,
       a.created_at, a.cause_at + make_interval(secs => d.after)
  FROM (VALUES (1, 'ops', 'sent', 1, NULL, 2.0), (1, 'pager', 'sent', 3, 'timeout', 40.0),
               (2, 'ops', 'sent', 1, NULL, 0.5), (2, 'pager', 'dead', 5, 'http_503', NULL),
               (3, 'ops', 'dead', 4, 'timeout', NULL), (3, 'pager', 'dead', 2, 'http_503', NULL),
               (4, 'ops', 'digested', 0, NULL, NULL), (4, 'pager', 'pending', 2, 'connect', NULL),
               (5, 'ops', 'sent', 2, 'http_500', 12.0), (5, 'pager', 'sent', 1, NULL, 5.0),
               (5, 'slack', 'dead', 1, NULL, NULL),
               (7, 'ops', 'sent', 1, NULL, 1000.0), (8, 'ops', 'dead', 9, 'http_404', NULL))
       AS d(n, sink, status, attempts, err, after)
  JOIN alerts a ON a.alert_id = md5('alert-' || d.n)::uuid;
"
pass "compliance fixture inserted"

sg-report compliance --date "$DATE" --output-dir "$OUT" >"$T/comp.out" 2>"$T/comp.log" \
  || { cat "$T/comp.log" >&2; fail "sg-report compliance exit status"; }
cat "$T/comp.out" >&2
CM=$OUT/compliance_report_$DATE.md
CS=$OUT/compliance_report_${DATE}_flags_7d.svg
for f in "$CM" "$CS"; do [ -s "$f" ] || fail "$f not written"; done
assert_eq 1 "$(grep -c '^Generated at ' "$CM")" "Generated-at lines in the compliance report"
grep -q "^Compliance report $DATE: 19 flags (7 high) on 13 subjects" "$T/comp.out" \
  || fail "console summary of compliance"
golden_check "$CM"
golden_check "$CS"

# Figures against the SQL, independently of the golden files.
KD="window_start >= '$DATE 00:00:00+00' AND window_start < '$DATE 00:00:00+00'::timestamptz + interval '1 day'"
high=$(psql_q "SELECT count(*) FROM compliance_flags WHERE severity = 'high' AND $KD")
total=$(psql_q "SELECT count(*) FROM compliance_flags WHERE $KD")
grep -qE "^\| \*\*All rules\*\* +\| +\| +[0-9]+ \| +[0-9]+ \| +$high \| +$total \|$" "$CM" \
  || fail "all rules row: $high high of $total flags"
pass "high flags of $DATE: $high of $total, as in compliance_flags"
p95=$(psql_q "SELECT to_char(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.sent_at - a.cause_at)), 'FM990.00')
                FROM alerts a JOIN alert_deliveries d USING (alert_id)
               WHERE a.created_at >= '$DATE' AND a.created_at < '$DATE'::date + 1 AND d.status = 'sent'")
grep -qE "^\| p95 +\| +$p95 s \|$" "$CM" || fail "p95 cause-to-delivery $p95 s"
pass "p95 cause to delivery = $p95 s, as percentile_cont over alert_deliveries"
dead503=$(psql_q "SELECT count(*) FROM alerts a JOIN alert_deliveries d USING (alert_id)
                   WHERE a.created_at::date = '$DATE' AND d.status = 'dead' AND d.last_error = 'http_503'")
grep -qE "^\| \`http_503\` +\| +$dead503 \|$" "$CM" || fail "dead deliveries with http_503: $dead503"
overdue=$(psql_q "SELECT count(*) FROM privacy_requests
                   WHERE requested_at < '2026-01-16+00'::timestamptz - interval '30 days'
                     AND (processed_at IS NULL OR processed_at >= '2026-01-16+00')")
assert_eq "$overdue" "$(grep -c '| \*\*overdue\*\* |$' "$CM")" "overdue requests listed"
assert_eq 10 "$(sed -n '/^## Top 10 subjects/,/^## /p' "$CM" | grep -cE '^\| +[0-9]+ \|')" "rows of the top 10"
grep -qE "^\| +1 \| user +\| \`$(psql_q "SELECT md5('u0')")\` +\| +4 \| +2 \|" "$CM" || fail "u0 first with 4 flags, 2 high"
grep -q '2026-01-08' "$CM" "$CS" && fail "D-7 in the 7-day trend"
grep -qE '^\| 2026-01-10 +\| +0 \| +0 \| +0 \| +0 \|$' "$CM" || fail "a day without flags shows 0"
pass "dead by error, overdue requests, top 10, 7 days with zeros"

# The SVG: well-formed, one total per day D-6..D equal to the SQL counts.
psql_q "SELECT to_char(d, 'YYYY-MM-DD') || ' ' || s.severity || ' ' || count(f.flag_id)
          FROM generate_series(date '$DATE' - 6, date '$DATE', interval '1 day') AS d
          CROSS JOIN (VALUES ('low'), ('medium'), ('high')) AS s(severity)
          LEFT JOIN compliance_flags f ON f.severity = s.severity
               AND f.window_start >= d AT TIME ZONE 'UTC' AND f.window_start < (d + interval '1 day') AT TIME ZONE 'UTC'
         GROUP BY d, s.severity" >"$T/trend.txt"
python3 - "$CS" "$T/trend.txt" <<'PY' || fail "compliance SVG check"
import sys, xml.etree.ElementTree as E
ns = '{http://www.w3.org/2000/svg}'
root = E.parse(sys.argv[1]).getroot()
text = open(sys.argv[1], encoding='utf-8').read()
for bad in ('<script', 'href', '<image', '<foreignObject', 'url('):
    assert bad not in text, bad
want, totals = {}, {}
for line in open(sys.argv[2]):
    day, sev, n = line.split()
    want[(day, sev)] = int(n)
    totals[day] = totals.get(day, 0) + int(n)
got = {(b.get('data-day'), b.get('data-severity')): int(b.get('data-count'))
       for b in root.find(".//%sg[@class='bars']" % ns).findall(ns + 'rect')}
assert got == {k: v for k, v in want.items() if v}, (got, want)
t = {x.get('data-day'): int(x.get('data-total')) for x in root.find(".//%sg[@class='totals']" % ns)}
assert t == totals and len(t) == 7, (t, totals)
print('compliance svg ok: %d days, %d bars' % (len(t), len(got)))
PY
pass "the 7-day SVG parses and its bars and totals match compliance_flags"

# No personal data: not one e-mail of users_pii, no '@' at all.
assert_eq 3 "$(psql_q "SELECT count(*) FROM users_pii WHERE email LIKE '%@%'")" "users with an e-mail"
psql_q "SELECT email FROM users_pii UNION ALL SELECT email FROM privacy_requests WHERE email IS NOT NULL" >"$T/emails.txt"
assert_eq 0 "$(grep -cFf "$T/emails.txt" "$CM" "$CS" "$T/comp.out" "$T/comp.log" | awk -F: '{s += $2} END {print s}')" \
  "e-mail addresses in the compliance report, its chart, summary or log"
assert_eq 0 "$(cat "$CM" "$CS" | grep -c '@' || true)" "'@' in the compliance report and chart"

# As sg_analytics, and a second run: the same bytes.
sg-report compliance --date "$DATE" --output-dir "$T/analytics" --dsn "$ANALYTICS_DSN" >/dev/null 2>"$T/an-comp.log" \
  || { cat "$T/an-comp.log" >&2; fail "sg-report compliance as sg_analytics"; }
diff <(strip_generated "$CM") <(strip_generated "$T/analytics/$(basename "$CM")") >/dev/null \
  || fail "compliance report differs as sg_analytics"
cmp -s "$CS" "$T/analytics/$(basename "$CS")" || fail "compliance SVG differs as sg_analytics"
mkdir -p "$T/cfirst"; cp "$CM" "$CS" "$T/cfirst/"
sleep 1.1
sg-report compliance --date "$DATE" --output-dir "$OUT" >/dev/null 2>>"$T/comp.log" || fail "second compliance run"
assert_eq 2 "$(diff "$T/cfirst/$(basename "$CM")" "$CM" | grep -c '^[<>]' || true)" \
  "lines changed between two compliance runs (the Generated-at line only)"
cmp -s "$T/cfirst/$(basename "$CS")" "$CS" || fail "compliance SVG differs between runs"
pass "sg_analytics and a second run give the same compliance report"

# A day without anything: exit 0, every empty section in one line, no table
# but for none; the chart still shows 7 days of 0.
rc_of sg-report compliance --date 2025-06-01 --output-dir "$OUT" >/dev/null 2>"$T/cempty.log"
assert_eq 0 "$RC" "sg-report compliance exit status for a day without data"
E=$OUT/compliance_report_2025-06-01.md
assert_eq 0 "$(grep -c '^|' "$E" || true)" "table lines in the empty compliance report"
for line in 'No flag has a window starting on 2025-06-01.' 'No subject has a flag on 2025-06-01.' \
            '`compliance_daily` has no row for 2025-06-01.' 'No flag has a window starting in these 7 days.' \
            '`compliance_late` counts no late event for 2025-06-01.' 'No alert was created on 2025-06-01.' \
            'No privacy request was open at the end of the day.'; do
  grep -qxF "$line" "$E" || fail "the empty report lacks: $line"
done
assert_eq 7 "$(grep -c 'data-total="0"' "$OUT/compliance_report_2025-06-01_flags_7d.svg")" "zero totals in the empty chart"
pass "a day without data: exit 0, each section says so in one line"

# Usage errors and an unreachable database.
sg-report --help | grep -qF 'DIR/compliance_report_<date>.md' || fail "--help does not name the compliance report's file"
rc_of sg-report compliance --date 2026-02-30 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report compliance --date 2026-02-30"
rc_of sg-report compliance --date 2026-01 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report compliance --date 2026-01"
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" \
  rc_of sg-report compliance --retry-for 2 --date "$DATE" --output-dir "$T/cnodb" >/dev/null 2>"$T/cnodb.err"
assert_eq 1 "$RC" "sg-report compliance exit status with the database unreachable"
assert_eq 1 "$(wc -l <"$T/cnodb.err")" "stderr lines of compliance with the database unreachable"
grep -q 'PostgreSQL unreachable, gave up after attempts=[0-9]* in [0-9]* s' "$T/cnodb.err" || fail "unclear message"
[ ! -e "$T/cnodb" ] || fail "compliance output written without a database"
pass "compliance: bad dates exit 2, an unreachable database exits 1 with one line"

# ---- the README's cron lines, as written --------------------------------
# One event and one privacy request yesterday (UTC), the default date;
# with cron's bare environment and SG_LOG_LEVEL=warn a normal night prints
# nothing at all.
Y=$(date -u -d yesterday +%F)
psql_q "
INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country,
                        is_eu, kafka_topic, kafka_partition, kafka_offset)
VALUES (md5('yesterday')::uuid, md5('y0')::uuid, 'page_view', '$Y 12:00:00+00', '$Y', 'DE',
        true, 'user_events', 0, 9100);
INSERT INTO privacy_requests (email_sha256, requested_at, processed_at, status)
VALUES (repeat('7', 64), '$Y 12:00:00+00', '$Y 12:00:01+00', 'not_found');"
grep -E '^[0-9]+ [0-9]+ \* \* \* +sg-report ' "$SG_SRC/README.md" >"$T/cron.txt"
assert_eq 3 "$(wc -l <"$T/cron.txt")" "sg-report cron lines in the README"
while read -r _ _ _ _ _ cmd; do
  cmd=${cmd//\/var\/lib\/streamguard\/reports/$T/cron}
  rc_of env -i PATH="$SG_BIN:/usr/bin:/bin" HOME="$HOME" PG_DSN="$PG_DSN" SG_LOG_LEVEL=warn \
    sh -c "$cmd" >"$T/cron.out" 2>&1
  rc=$RC
  cat "$T/cron.out" >&2
  assert_eq 0 "$rc" "exit status of: $cmd"
  assert_eq 0 "$(wc -c <"$T/cron.out")" "bytes printed by: $cmd"
done <"$T/cron.txt"
for f in "business_report_$Y.md" "business_report_${Y}_events_per_hour.svg" "gdpr_audit_$Y.md" \
         "compliance_report_$Y.md" "compliance_report_${Y}_flags_7d.svg"; do
  [ -s "$T/cron/$f" ] || fail "cron line did not write $f"
done
pass "the README's cron lines write yesterday's reports and print nothing"
