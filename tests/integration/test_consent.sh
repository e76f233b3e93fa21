#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-consent: the consent history of 40 users (2,400 events over 3 days of
# event time, consent_scenario.py) sent OUT of event-time order (a fifth
# of the events late, two per user very late, ties on equal timestamps,
# +02:00 and -05:00 offsets, false flags left out, three events sent
# twice, two invalid messages). consent_log must equal the history
# computed here, independently, by sort and awk from the produced events
# in event-time order (ties by event_id):
#   A. default batches;
#   B. two events per batch, sg-consent killed with SIGKILL three times
#      mid-run and restarted;
#   C. one event per batch;
# and user_consent must equal the last state of each user. The scenario
# is checked to be one where the arrival order gives another history, so
# an implementation that orders by arrival fails A, B and C. Then
# sg-report consent for the middle day: its golden file, its figures
# against SQL, as sg_analytics, no PII.
source "$(dirname "$0")/lib.sh"

GOLDEN=$SG_SRC/tests/integration/golden
DATE=2026-02-10

db_create
broker_start 6
python3 "$SG_SRC/tests/integration/consent_scenario.py" "$T" 40 60 >"$T/scenario.out" \
  || fail "consent_scenario.py"
read -r MESSAGES EVENTS <"$T/scenario.out"
kcat -P -b "$BROKERS" -t user_events -K $'\t' -l "$T/events.tsv" 2>"$T/kcat-produce.log" \
  || { cat "$T/kcat-produce.log" >&2; fail "kcat -P"; }
assert_eq "$MESSAGES" "$(log_ends | awk '{s += $2} END {print s + 0}')" "messages in the log"

# ---- the expected history, from the produced events --------------------
# truth.tsv: user ts_us event_id consent dnt type country, one line per
# distinct valid event. Event-time order: ts_us, ties by event_id.
history() {  # stdin: truth lines in the order to apply them
  awk '{ k = $4 " " $5
         if (!($1 in st) || st[$1] != k) print $1, $2, $3, $4, $5
         st[$1] = k }'
}
sort -k1,1 -k2,2n -k3,3 "$T/truth.tsv" | history >"$T/expected.txt"
# The same events applied in arrival order: a different history, or the
# scenario would not tell event time from arrival.
sort -s -k1,1 "$T/truth.tsv" | history | sort -k1,1 -k2,2n -k3,3 >"$T/arrival.txt"
[ "$(wc -l <"$T/expected.txt")" -gt 100 ] || fail "too few changes in the scenario"
arrival_diff=$(diff "$T/expected.txt" "$T/arrival.txt" | grep -c '^[<>]' || true)
[ "$arrival_diff" -gt 20 ] || fail "the arrival order gives (almost) the same history ($arrival_diff lines differ)"
pass "scenario: $EVENTS events, $(wc -l <"$T/expected.txt") expected consent_log rows, $arrival_diff lines differ in arrival order"
# The current state per user: its last event in event-time order.
sort -k1,1 -k2,2n -k3,3 "$T/truth.tsv" \
  | awk '{last[$1] = $4 " " $5 " " $2 " " $3; n[$1]++} END {for (u in last) print u, last[u]}' \
  | sort >"$T/expected_current.txt"
awk '{c[$1]++} END {for (u in c) print u, c[u]}' "$T/expected.txt" | sort >"$T/expected_changes.txt"

# same WHAT EXPECTED_FILE ACTUAL: ACTUAL (text) equals the file's lines.
same() {
  if ! diff "$2" <(printf '%s\n' "$3") >"$T/same.diff"; then
    head -10 "$T/same.diff" >&2
    fail "$1: differs ($(grep -c '^[<>]' "$T/same.diff") lines)"
  fi
  pass "$1: as expected ($(wc -l <"$2") lines)"
}
actual_log() {
  psql_q "SELECT user_id, (extract(epoch FROM changed_at) * 1000000)::bigint, event_id,
                 consent, do_not_track FROM consent_log ORDER BY 1, 2, 3" | tr '|' ' '
}
# Each log row's prev_* must be the previous row's state (NULL first).
prev_mismatches() {
  psql_q "SELECT count(*) FROM (SELECT prev_consent, prev_do_not_track,
                 lag(consent) OVER w AS c, lag(do_not_track) OVER w AS d FROM consent_log
                 WINDOW w AS (PARTITION BY user_id ORDER BY changed_at, event_id)) x
           WHERE prev_consent IS DISTINCT FROM c OR prev_do_not_track IS DISTINCT FROM d"
}
# check_run NAME GROUP: the tables against the expectation, the group's
# stored offsets at the log's end.
check_run() {
  local name=$1 group=$2
  actual_log >"$T/actual.$name.txt"
  if ! diff "$T/expected.txt" "$T/actual.$name.txt" >"$T/diff.$name.txt"; then
    head -20 "$T/diff.$name.txt" >&2
    fail "$name: consent_log differs from the event-time history ($(grep -c '^[<>]' "$T/diff.$name.txt") lines)"
  fi
  pass "$name: consent_log = the event-time history ($(wc -l <"$T/expected.txt") rows)"
  assert_eq 0 "$(prev_mismatches)" "$name: rows whose prev_* is not the previous row's state"
  assert_eq "$EVENTS" "$(psql_q 'SELECT count(*) FROM consent_events')" "$name: distinct events kept"
  same "$name: user_consent's state and last event per user" "$T/expected_current.txt" \
    "$(psql_q "SELECT user_id, consent, do_not_track, (extract(epoch FROM last_event_at) * 1000000)::bigint,
                      last_event_id FROM user_consent ORDER BY 1" | tr '|' ' ')"
  same "$name: user_consent's changes and since (its last consent_log row) per user" \
    "$T/expected_changes.txt" "$(psql_q "SELECT u.user_id || ' ' || u.changes FROM user_consent u
                WHERE (u.since, u.since_event_id) = (SELECT changed_at, event_id FROM consent_log l
                        WHERE l.user_id = u.user_id ORDER BY changed_at DESC, event_id DESC LIMIT 1)
                ORDER BY 1")"
  log_ends >"$T/ends.txt"
  same "$name: $group's stored offsets = the log's end offsets" "$T/ends.txt" \
    "$(psql_q "SELECT partition || ' ' || next_offset FROM stream_offsets
               WHERE consumer_group = '$group' AND next_offset > 0 ORDER BY partition" | tr '|' ' ')"
}
reset_tables() { psql_q "TRUNCATE consent_events, consent_log, user_consent"; }

# ---- A: default batches ------------------------------------------------
rc_of sg-consent --idle-exit 2 2>"$T/a.log"
assert_eq 0 "$RC" "A: sg-consent --idle-exit exit status"
grep -q "exit status=0 events=$((MESSAGES - 2)) " "$T/a.log" || fail "A: exit line: $(grep 'exit status' "$T/a.log")"
grep -q "invalid_skipped=2" "$T/a.log" || fail "A: two invalid messages skipped"
check_run A sg-consent
psql_q "SELECT * FROM user_consent ORDER BY user_id" | cut -d'|' -f1-9 >"$T/current.A.txt"

# ---- B: small batches, kill -9 three times -------------------------------
reset_tables
start_b() { bg consent.b sg-consent --group sg-consent-b --batch-rows 2 --batch-ms 20 --progress-interval 1; B=$LAST_PID; }
b_ready() {
  local s; s=$(stored_sum sg-consent-b)
  [ "$s" -lt "$MESSAGES" ] || fail "B: sg-consent-b finished before a kill ($s offsets stored)"
  [ "$s" -gt "${B_LAST:-0}" ]
}
b_restart() {
  sg_kill9 "$B"
  B_LAST=$(stored_sum sg-consent-b)
  log "killed sg-consent (round $1) at $B_LAST stored offsets, $(psql_q 'SELECT count(*) FROM consent_log') log rows"
  mv "$T/consent.b.log" "$T/consent.b.$1.log"
  start_b
}
B_LAST=0
start_b
sg_kill9_loop 3 b_ready b_restart
b_done() { [ "$(stored_sum sg-consent-b)" = "$MESSAGES" ]; }
wait_until 90 b_done \
  || fail "B: sg-consent-b did not reach the log's end ($(stored_sum sg-consent-b) of $MESSAGES)"
kill -TERM "$B"; rc=0; wait "$B" || rc=$?; assert_eq 0 "$rc" "B: sg-consent exit status (SIGTERM)"
rc_of sg-consent --group sg-consent-b --batch-rows 2 --batch-ms 20 --idle-exit 2 2>"$T/b.final.log"
assert_eq 0 "$RC" "B: final sg-consent --idle-exit exit status"
grep -q "exit status=0 events=0 log_rows_written=0 invalid_skipped=0" "$T/b.final.log" || fail "B: the final run found events left"
check_run B sg-consent-b
psql_q "SELECT * FROM user_consent ORDER BY user_id" | cut -d'|' -f1-9 >"$T/current.B.txt"
cmp -s "$T/current.A.txt" "$T/current.B.txt" || fail "B: user_consent differs from A's"
pass "B: user_consent (every column but updated_at) = A's"

# ---- C: one event per batch ----------------------------------------------
reset_tables
rc_of sg-consent --group sg-consent-c --batch-rows 1 --idle-exit 2 2>"$T/c.log"
assert_eq 0 "$RC" "C: sg-consent --batch-rows 1 --idle-exit exit status"
check_run C sg-consent-c
psql_q "SELECT * FROM user_consent ORDER BY user_id" | cut -d'|' -f1-9 >"$T/current.C.txt"
cmp -s "$T/current.A.txt" "$T/current.C.txt" || fail "C: user_consent differs from A's"
pass "C: user_consent (every column but updated_at) = A's"

# ---- sg-report consent of the middle day ---------------------------------
OUT=$T/out
rc_of sg-report consent --date "$DATE" --output-dir "$OUT" >"$T/report.out" 2>"$T/report.log"
assert_eq 0 "$RC" "sg-report consent exit status"
RM=$OUT/consent_report_$DATE.md
[ -s "$RM" ] || fail "$RM not written"
strip_generated() { grep -v '^Generated at ' "$1"; }
if [ -n "${SG_UPDATE_GOLDEN:-}" ]; then strip_generated "$RM" >"$GOLDEN/$(basename "$RM")"; log "updated the golden file"; fi
diff -u "$GOLDEN/$(basename "$RM")" <(strip_generated "$RM") >"$T/golden.diff" \
  || { cat "$T/golden.diff" >&2; fail "$(basename "$RM") differs from its golden file"; }
pass "$(basename "$RM") matches its golden file"

# The figures, computed here from the produced events and the expected
# history (not from the tables): events of D by EU, consent and DNT;
# changes of D by kind; by country.
LO=$(( $(date -u -d "$DATE" +%s) * 1000000 )); HI=$((LO + 86400000000))
awk -v lo="$LO" -v hi="$HI" '
  BEGIN { split("DE FR NL IT ES", a, " "); for (i in a) eu[a[i]] = 1 }
  $2 >= lo && $2 < hi { n++; c[$7]++; if ($4 == "t") hc[$7]++; if ($5 == "t") { dnt++; dc[$7]++ }
                        if ($7 in eu) { e++; if ($4 == "t") ec++ } }
  END { printf "events %d eu %d eu_consent %d dnt %d\n", n, e, ec, dnt
        for (k in c) printf "country %s %d %d %d\n", k, c[k], hc[k] + 0, dc[k] + 0 }' "$T/truth.tsv" \
  | sort >"$T/expected_day.txt"
# The country of each expected change: its event's country.
awk 'NR == FNR { country[$3] = $7; next }
     { if (u == $1) print $1, $2, $3, pc, $4, pd, $5, country[$3]; else print $1, $2, $3, "-", $4, "-", $5, country[$3]
       u = $1; pc = $4; pd = $5 }' "$T/truth.tsv" "$T/expected.txt" \
  | awk -v lo="$LO" -v hi="$HI" '$2 >= lo && $2 < hi {
      if ($4 == "f" && $5 == "t") { g++; gc[$8]++ }
      if ($4 == "t" && $5 == "f") { w++; wc[$8]++ }
      if ($6 == "f" && $7 == "t") on++
      if ($6 == "t" && $7 == "f") off++
      if ($4 == "-") init++ }
    END { printf "changes granted %d withdrawn %d dnt_on %d dnt_off %d initial %d\n", g, w, on, off, init
          for (k in gc) printf "granted %s %d\n", k, gc[k]; for (k in wc) printf "withdrawn %s %d\n", k, wc[k] }' \
  | sort >"$T/expected_changes_day.txt"
read -r _ events _ eu _ eu_consent _ dnt < <(grep '^events ' "$T/expected_day.txt")
read -r _ _ granted _ withdrawn _ dnt_on _ dnt_off _ initial < <(grep '^changes ' "$T/expected_changes_day.txt")
[ "$eu" -gt 0 ] && [ "$granted" -gt 0 ] && [ "$withdrawn" -gt 0 ] || fail "the day has no EU event or no change"
rate=$(awk -v a="$eu_consent" -v b="$eu" 'BEGIN { printf "%.1f%%", 100 * a / b }')
share=$(awk -v a="$dnt" -v b="$events" 'BEGIN { printf "%.1f%%", 100 * a / b }')
row() { grep -qE "^\| $1 +\| +$2 \|$" "$RM" || fail "row '$1' is not $2"; }
row 'Events \(all countries\)' "$(printf "%'d" "$events")"
row 'EU events' "$(printf "%'d" "$eu")"
row 'EU events with consent' "$(printf "%'d" "$eu_consent")"
row '\*\*Consent rate among EU events\*\*' "$rate"
row '\*\*Do-not-track share\*\* \(all events\)' "$share"
row 'Consent granted' "$granted"
row 'Consent withdrawn' "$withdrawn"
row 'Do-not-track turned on' "$dnt_on"
row 'Do-not-track turned off' "$dnt_off"
row "Initial states \(a user's first event\)" "$initial"
pass "D: $eu EU events, $rate with consent, $granted granted, $withdrawn withdrawn, DNT $share, as computed from the events"
while read -r _ country n hc dc; do
  g=$(awk -v c="$country" '$1 == "granted" && $2 == c {print $3}' "$T/expected_changes_day.txt"); g=${g:-0}
  w=$(awk -v c="$country" '$1 == "withdrawn" && $2 == c {print $3}' "$T/expected_changes_day.txt"); w=${w:-0}
  grep -qE "^\| \`$country\` +\| (yes|no) +\| +$n \| +$hc \| +[0-9.]+% \| +$dc \| +[0-9.]+% \| +$g \| +$w \|$" "$RM" \
    || fail "country $country: $n events, $hc with consent, $dc DNT, $g granted, $w withdrawn"
done < <(grep '^country ' "$T/expected_day.txt")
assert_eq "$(grep -c '^country ' "$T/expected_day.txt")" "$(sed -n '/^## By country/,/^## /p' "$RM" | grep -c '^| `')" "country rows"
grep -q "^Consent report $DATE: $eu EU events, $rate with consent; $granted granted, $withdrawn withdrawn" "$T/report.out" \
  || fail "console summary: $(cat "$T/report.out")"
pass "by country and the console summary, as computed from the events"

# No personal data: no user or event id, no '@'; as sg_analytics the same
# bytes; a second run differs only in its Generated-at line.
assert_eq 0 "$(grep -cE '[0-9a-f]{8}-[0-9a-f]{4}-' "$RM" || true)" "ids in the consent report"
assert_eq 0 "$(grep -c '@' "$RM" || true)" "'@' in the consent report"
sg-report consent --date "$DATE" --output-dir "$T/analytics" --dsn "$ANALYTICS_DSN" >/dev/null 2>"$T/an.log" \
  || { cat "$T/an.log" >&2; fail "sg-report consent as sg_analytics"; }
diff <(strip_generated "$RM") <(strip_generated "$T/analytics/$(basename "$RM")") >/dev/null \
  || fail "the consent report differs as sg_analytics"
pass "sg_analytics gets the same consent report"
rc_of sg-report consent --date 2025-06-01 --output-dir "$OUT" >/dev/null 2>"$T/empty.log"
assert_eq 0 "$RC" "sg-report consent exit status for a day without events"
assert_eq 0 "$(grep -c '^|' "$OUT/consent_report_2025-06-01.md" || true)" "table lines in the empty consent report"
grep -qxF 'No event of 2025-06-01 in `consent_events`.' "$OUT/consent_report_2025-06-01.md" || fail "empty day sentence"
rc_of sg-report consent --date 2026-02-30 >/dev/null 2>&1; assert_eq 2 "$RC" "sg-report consent --date 2026-02-30"
