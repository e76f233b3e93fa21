#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-compliance end to end on the generator's compliance scenario (a known
# set of violations of every rule in realistic background traffic, with
# its ground truth): the flags equal the ground truth exactly; the run
# killed with SIGKILL three times, and the run with two instances joining
# and leaving, give the identical flag set (every column but detected_at);
# sg-batch-compliance --all then sg-compare --compliance: no difference;
# new and escalated flags are published on compliance_flags; a bad rules
# file is refused (exit 2, file:line) and SIGHUP keeps the old rules when
# the new file is bad; no PII anywhere.
source "$(dirname "$0")/lib.sh"

# A bad rules file: exit 2 and the file:line, before anything else.
printf '[multi_country]\nthreshold = x\n' >"$T/bad.rules"
rc_of sg-compliance --rules "$T/bad.rules" --no-publish 2>"$T/badrules.err"; rc=$RC
assert_eq 2 "$rc" "sg-compliance with a bad rules file: exit status"
grep -q "$T/bad.rules:2:" "$T/badrules.err" || { cat "$T/badrules.err" >&2; fail "no file:line in the error"; }
pass "a bad rules file is refused with its file:line"

db_create
broker_start 6
seed_users 1000 42

# An erased user who keeps sending events: erase one now, and the scenario
# sends events of theirs after the erasure.
email=$(psql_q "SELECT email FROM users_pii ORDER BY user_id LIMIT 1 OFFSET 7")
ERASED=$(psql_q "SELECT user_id FROM users_pii WHERE email = '$email'")
psql -X -q -w -At -v ON_ERROR_STOP=1 -v e="$email" "$PG_DSN" \
  <<<"INSERT INTO privacy_requests (email) VALUES (:'e')" >/dev/null
sg-gdpr --once --no-notices >"$T/gdpr.out" 2>"$T/gdpr.log" || fail "sg-gdpr --once"
ERASED_AT=$(psql_q "SELECT to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM privacy_requests WHERE user_id = '$ERASED'")
[ -n "$ERASED_AT" ] || fail "the erasure was not processed"

generate --scenario compliance --seed 11 --truth "$T/truth.tsv" \
  --erased-user "$ERASED" --erased-at "$ERASED_AT"
TOTAL=$(jq .delivered "$T/gen.json")
grep -v '^#' "$T/truth.tsv" | LC_ALL=C sort >"$T/truth.sorted"
for rule in eu_no_consent erased_user_activity do_not_track multi_country multi_network \
            high_frequency large_purchase purchase_burst repeat_offender content_error_rate \
            traffic_anomaly; do
  grep -q "^$rule	" "$T/truth.sorted" || fail "the scenario's truth has no $rule"
done
pass "scenario: $TOTAL events, $(wc -l <"$T/truth.sorted") expected flags, every rule"

# What a run produced: every column but detected_at and updated_at.
flag_set() {
  psql_q "SELECT flag_id, rule, rule_version, severity, subject_type, subject_id,
                 window_start, window_end, first_event_id, last_event_id, event_count,
                 observed, threshold, evidence, kafka_topic, kafka_partition, kafka_offset
            FROM compliance_flags ORDER BY flag_id"
}
reset_state() {
  psql_q "TRUNCATE compliance_flags, compliance_daily, compliance_late, compliance_partitions,
                   compliance_snapshots, compliance_windows, compliance_baselines;
          DELETE FROM alerts WHERE source = 'compliance';
          DELETE FROM outbox WHERE channel = 'compliance_flag';
          DELETE FROM stream_offsets WHERE consumer_group = 'sg-compliance'" >/dev/null
}
committed() { stored_sum sg-compliance; }

# Run 1: uninterrupted, publishing; batches small enough (5 messages) that
# a flag's escalation comes in a later batch than its raising.
SMALL=(--batch-rows 5 --batch-ms 50)
bg cpl sg-compliance --idle-exit 3 "${SMALL[@]}"; CPL=$LAST_PID
wait_pid "$CPL" 300 || { tail -5 "$T/cpl.log" >&2; fail "sg-compliance exit status"; }
assert_eq "$TOTAL" "$(committed)" "offsets stored by sg-compliance"
psql_q "SELECT rule || E'\t' || subject_type || E'\t' || subject_id || E'\t' ||
               to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
          FROM compliance_flags" | LC_ALL=C sort >"$T/flags.sorted"
if ! diff "$T/truth.sorted" "$T/flags.sorted" >"$T/truth.diff"; then
  cat "$T/truth.diff" >&2
  fail "flags differ from the ground truth (< missing, > extra)"
fi
pass "flags equal the ground truth: $(wc -l <"$T/flags.sorted") flags"
flag_set >"$T/run1.txt"
[ "$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'multi_country' AND severity = 'high'")" -ge 1 ] \
  || fail "no multi_country flag escalated to high"
assert_eq "$(psql_q "SELECT count(*) FROM compliance_daily")" \
  "$(psql_q "SELECT count(*) FROM (SELECT DISTINCT event_date, country, risk_level FROM compliance_daily) d")" \
  "compliance_daily keys unique"
assert_eq "$TOTAL" "$(psql_q "SELECT sum(events) FROM compliance_daily")" "every event scored once"

# Published: every outbox row sent, and the topic holds every raised flag.
unsent() { [ "$(psql_q "SELECT count(*) FROM outbox WHERE channel = 'compliance_flag' AND sent_at IS NULL")" = 0 ]; }
wait_until 30 unsent || fail "flags left unsent in the outbox"
kcat -C -b "$BROKERS" -t compliance_flags -e -q -f '%k\t%s\n' >"$T/published.txt" 2>"$T/kcat.log" \
  || fail "reading compliance_flags"
published_ids=$(jq -r .flag_id <(cut -f2- "$T/published.txt") | sort -u | wc -l)
assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags")" "$published_ids" "flags published on compliance_flags"
grep -q '"change":"escalated"' "$T/published.txt" || fail "no escalation published"
# The latest message of each flag carries its final severity.
cut -f2- "$T/published.txt" | jq -r '[.flag_id, .severity] | @tsv' | tac | sort -u -k1,1 -s >"$T/last-severity.txt"
assert_eq "$(psql_q "SELECT flag_id || E'\t' || severity FROM compliance_flags ORDER BY 1")" \
  "$(sort "$T/last-severity.txt")" "published severities"
pass "new and escalated flags published ($(wc -l <"$T/published.txt") messages)"
[ "$(psql_q "SELECT count(*) FROM outbox WHERE channel = 'compliance_flag' AND messages > 1")" -ge 1 ] \
  || fail "no outbox row held several flags (sql/018)"

# A produce that fails (sg-broker's fault injection): the outbox row is
# released with all its messages, sent again, and recorded sent once every
# one of them is delivered. Every row is made unsent again first.
if [ "$SG_TEST_BROKER" != kafka ]; then
  psql_q "UPDATE outbox SET sent_at = NULL, leased_until = NULL, attempts = 0
           WHERE channel = 'compliance_flag'" >/dev/null
  echo "errors Produce 2 TOPIC_AUTHORIZATION_FAILED" >"$SG_BROKER_FILE.ctl"
  bg cplp sg-compliance "${SMALL[@]}"; CPL=$LAST_PID
  wait_until 60 unsent || fail "flags left unsent after the produce errors"
  kill -TERM "$CPL"; wait_pid "$CPL" 30 || fail "sg-compliance (produce errors) exit status"
  grep -q 'message not delivered' "$T/cplp.log" || fail "the injected produce errors did not happen"
  [ "$(psql_q "SELECT count(*) FROM outbox WHERE channel = 'compliance_flag' AND attempts > 1")" -ge 1 ] \
    || fail "no outbox row was sent twice"
  kcat -C -b "$BROKERS" -t compliance_flags -e -q -f '%k\t%s\n' >"$T/published2.txt" 2>>"$T/kcat.log" \
    || fail "reading compliance_flags"
  # Each flag's messages, before and now: now at least twice as many.
  per_flag() { cut -f2- "$1" | jq -r .flag_id | sort | uniq -c | awk '{print $2, $1}' | sort; }
  join <(per_flag "$T/published.txt") <(per_flag "$T/published2.txt") >"$T/again.txt"
  assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags")" "$(awk '$3 >= 2 * $2' "$T/again.txt" | wc -l)" \
    "flags whose messages were all published again after the produce errors"
  pass "produce errors: the failed rows sent again, every flag published"
fi

# Alerts (default --alert-severity high): one per flag that reached high,
# in the flag's transaction; none for the others.
alert_set() {
  psql_q "SELECT alert_id || E'\t' || kind || E'\t' || severity || E'\t' || subject_id || E'\t' ||
                 (counts->>'flag_id') FROM alerts WHERE source = 'compliance' ORDER BY 1"
}
nhigh=$(psql_q "SELECT count(*) FROM compliance_flags WHERE severity = 'high'")
[ "$nhigh" -gt 0 ] || fail "the scenario raises no high flag"
assert_eq "$nhigh" "$(psql_q "SELECT count(DISTINCT counts->>'flag_id') FROM alerts WHERE source = 'compliance'")" \
  "flags with an alert = high flags"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts a LEFT JOIN compliance_flags f
                        ON f.flag_id = (a.counts->>'flag_id')::uuid AND f.rule = a.kind
                       AND f.subject_id = a.subject_id AND f.severity = 'high'
                     WHERE a.source = 'compliance' AND (f.flag_id IS NULL OR a.severity <> 'high')")" \
  "alerts that are not of a high flag"
[ "$(psql_q "SELECT count(*) FROM alerts WHERE source = 'compliance' AND counts->>'change' = 'escalated'")" -ge 1 ] \
  || fail "no alert for a flag escalated to high"
alert_set >"$T/alerts1.txt"
pass "alerts: one for each of the $nhigh high flags (raised or escalated), none below high"

# Run 2: three SIGKILLs mid-run, small batches so that they land mid-run.
# --eval-chunk 2: a batch is evaluated in parts of 2 events as the parser
# thread delivers them, their flags written in pipeline mode, part of them
# while the batch is still read (the default, 2500, does the same on big
# batches): the kills land in either path, and the flags must not differ
# from run 1's (no chunks: batches of 5 are evaluated at commit).
# Erasures are looked up user by user here (run 1 reads them all at once).
CHUNKED=(--eval-chunk 2 --erasure-preload 0 --log-level debug)
reset_state
# And once, a statement sent in pipeline mode fails (the 12th that inserts
# flags: a serialization failure, transient): the batch is rolled back and
# evaluated again from the stored state.
psql_q "CREATE SEQUENCE sg_test_fail;
        GRANT USAGE ON SEQUENCE sg_test_fail TO sg_writer;
        CREATE FUNCTION sg_test_fail() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN
          IF nextval('sg_test_fail') = 12 THEN
            RAISE EXCEPTION 'injected failure' USING ERRCODE = '40001';
          END IF;
          RETURN NULL;
        END \$\$;
        CREATE TRIGGER sg_test_fail AFTER INSERT ON compliance_flags
          FOR EACH STATEMENT EXECUTE FUNCTION sg_test_fail();" >/dev/null
bg cpl2 sg-compliance --idle-exit 3 "${SMALL[@]}" "${CHUNKED[@]}" --no-publish; CPL=$LAST_PID
restart_cpl() {
  sg_kill9 "$CPL"
  bg "cpl2-$1" sg-compliance --idle-exit 3 "${SMALL[@]}" "${CHUNKED[@]}" --no-publish; CPL=$LAST_PID
}
# Under way, with enough left that the kill (0.1-0.9 s later) lands mid-run.
ready() { c=$(committed); [ "$c" -gt 0 ] && [ "$c" -lt $((TOTAL - 1000)) ]; }
sg_kill9_loop 3 ready restart_cpl
wait_pid "$CPL" 300 || fail "sg-compliance after the kills: exit status"
assert_eq "$TOTAL" "$(committed)" "offsets after the kills"
psql_q "DROP TRIGGER sg_test_fail ON compliance_flags; DROP FUNCTION sg_test_fail();
        DROP SEQUENCE sg_test_fail" >/dev/null
grep -hq 'failed, rolled back by the server (serialization failure or deadlock).*storing flags: 40001.*injected failure' "$T"/cpl2*.log \
  || fail "the injected failure did not happen (or was logged as an outage)"
flag_set >"$T/run2.txt"
diff "$T/run1.txt" "$T/run2.txt" >"$T/run2.diff" || { head -20 "$T/run2.diff" >&2; fail "flags after 3 SIGKILLs differ"; }
alert_set >"$T/alerts2.txt"
diff "$T/alerts1.txt" "$T/alerts2.txt" >"$T/alerts2.diff" || { head -20 "$T/alerts2.diff" >&2; fail "alerts after 3 SIGKILLs differ"; }
pass "three SIGKILLs and a failed statement: the identical flag set and the identical alerts"
# Both paths ran: parts evaluated while their batch was read, and batches
# evaluated whole at commit.
grep -hq 'flush events=[0-9]* .*streamed=[1-9]' "$T"/cpl2*.log || fail "no batch was evaluated while it was read"
grep -hq 'flush events=[1-9][0-9]* .*streamed=0 ' "$T"/cpl2*.log || fail "every batch was evaluated while it was read"
pass "with --eval-chunk 2: batches evaluated while read and at commit"
grep -hq 'erasures read: user by user' "$T"/cpl2*.log || fail "run 2 did not look erasures up user by user"

# Run 3: two instances, one joins late and the first leaves mid-run.
reset_state
bg cpl3a sg-compliance --idle-exit 5 "${SMALL[@]}" --no-publish; A=$LAST_PID
wait_until 60 ready || fail "instance A made no progress"
bg cpl3b sg-compliance --idle-exit 5 "${SMALL[@]}" --no-publish; B=$LAST_PID
wait_until 60 grep -q 'assigned partition' "$T/cpl3b.log" || fail "instance B got nothing"
kill -TERM "$A"
wait_pid "$A" 120 || fail "instance A exit status"
wait_pid "$B" 300 || fail "instance B exit status"
assert_eq "$TOTAL" "$(committed)" "offsets after the rebalances"
flag_set >"$T/run3.txt"
diff "$T/run1.txt" "$T/run3.txt" >"$T/run3.diff" || { head -20 "$T/run3.diff" >&2; fail "flags with two instances differ"; }
pass "two instances joining and leaving: the identical flag set"

# Empty partitions do not hold windows open (docs/compliance.md,
# "Watermark"): with three more partitions that never receive an event,
# every window closes as before. (sg-broker cannot add partitions.)
if [ "$SG_TEST_BROKER" = kafka ]; then
  sg-topics grow user_events 9 >"$T/grow.out" 2>"$T/topics.log" || fail "sg-topics grow"
  reset_state
  bg cpl5 sg-compliance --idle-exit 3 --no-publish; CPL=$LAST_PID
  wait_pid "$CPL" 300 || fail "sg-compliance with empty partitions: exit status"
  flag_set >"$T/run5.txt"
  diff "$T/run1.txt" "$T/run5.txt" >"$T/run5.diff" || { head -20 "$T/run5.diff" >&2; fail "flags with empty partitions differ"; }
  pass "three empty partitions hold no window open: the identical flag set"
fi

# The Lambda proof: the batch recomputation equals the stream.
sg-raw-store --idle-exit 3 >"$T/raw.out" 2>"$T/raw.log" || fail "sg-raw-store"
sg-batch-compliance --all >"$T/batch.out" 2>"$T/batch.log" || { tail -3 "$T/batch.log" >&2; fail "sg-batch-compliance --all"; }
rc_of sg-compare --compliance >"$T/compare.out" 2>"$T/compare.log"; rc=$RC
[ "$rc" = 0 ] || { head -30 "$T/compare.out" >&2; fail "sg-compare --compliance exit status $rc"; }
assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags")" \
  "$(psql_q "SELECT count(*) FROM compliance_flags_batch")" "flags on both sides"
pass "sg-batch-compliance --all and sg-compare --compliance: no difference"
# ... and a difference is found: one flag's count changed on the batch side.
changed=$(psql_q "UPDATE compliance_flags_batch SET event_count = event_count + 1
                   WHERE flag_id = (SELECT min(flag_id::text)::uuid FROM compliance_flags_batch) RETURNING flag_id")
rc_of sg-compare --compliance >"$T/compare2.out" 2>>"$T/compare.log"; rc=$RC
assert_eq 1 "$rc" "sg-compare --compliance exit status with one flag changed"
grep -q "$changed" "$T/compare2.out" || { cat "$T/compare2.out" >&2; fail "the changed flag is not listed"; }

# Backfill: high_frequency's threshold lowered to 9 over history raises
# the scenario's control user (10 events in an hour) under the new version;
# the flags already there are left as they are.
sed 's/^threshold = 10$/threshold = 9/' "$SG_SRC/config/compliance.rules" >"$T/backfill.rules"
grep -q '^threshold = 9$' "$T/backfill.rules" || fail "cannot derive the backfill rules file"
before=$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'high_frequency'")
others=$(psql_q "SELECT count(*) || ' ' || sum(event_count) FROM compliance_flags WHERE rule <> 'high_frequency'")
old_version=$(psql_q "SELECT DISTINCT rule_version FROM compliance_flags WHERE rule = 'high_frequency'")
sg-batch-compliance --all --rules "$T/backfill.rules" --only high_frequency --backfill \
  >"$T/backfill.out" 2>"$T/backfill.log" || { tail -3 "$T/backfill.log" >&2; fail "sg-batch-compliance --backfill"; }
after=$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'high_frequency'")
[ "$after" -gt "$before" ] || fail "backfill added no high_frequency flag ($before -> $after)"
assert_eq "$before" "$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'high_frequency' AND rule_version = '$old_version'")" \
  "flags of the old version left as they were"
assert_eq "$others" "$(psql_q "SELECT count(*) || ' ' || sum(event_count) FROM compliance_flags WHERE rule <> 'high_frequency'")" \
  "other rules' flags after the backfill"
pass "backfill with a changed threshold: $before -> $after high_frequency flags, new ones under the new version"

# SIGHUP: a bad file is refused and the rules in force stay; a good one
# is taken.
cp "$SG_SRC/config/compliance.rules" "$T/live.rules"
bg cpl4 sg-compliance --rules "$T/live.rules" --no-publish; CPL=$LAST_PID
wait_until 30 grep -q 'assigned partition' "$T/cpl4.log" || fail "sg-compliance (SIGHUP run) did not start"
echo "bogus line" >>"$T/live.rules"
kill -HUP "$CPL"
wait_until 10 grep -q 'the rules file is refused' "$T/cpl4.log" || fail "bad rules file not refused on SIGHUP"
grep -q "$T/live.rules:" "$T/cpl4.log" || fail "SIGHUP refusal without file:line"
cp "$SG_SRC/config/compliance.rules" "$T/live.rules"
sed -i 's/^threshold = 10$/threshold = 12/' "$T/live.rules"
kill -HUP "$CPL"
wait_until 10 grep -q 'rules reloaded' "$T/cpl4.log" || fail "good rules file not taken on SIGHUP"
kill -0 "$CPL" || fail "sg-compliance died on SIGHUP"
kill -TERM "$CPL"; wait_pid "$CPL" 30 || fail "sg-compliance (SIGHUP run) exit status"
pass "SIGHUP: a bad file refused (old rules stay), a good one taken"

# An erasure committed while sg-compliance runs is seen by its next batch
# (sql/017's version moves), whether it reads every erased user at once
# (the default) or user by user: a user whose events were evaluated (and
# found not erased) is erased, and their next events raise
# erased_user_activity.
reached() { [ "$(committed)" -ge "$1" ]; }
for preload in 50000 0; do
  n=$((preload == 0 ? 9 : 10))
  U=$(psql_q "SELECT user_id FROM users_public ORDER BY user_id LIMIT 1 OFFSET $((n - 1))")
  email_u=$(psql_q "SELECT email FROM users_pii WHERE user_id = '$U'")
  [ -n "$email_u" ] || fail "user $n has no e-mail to erase"
  before=$(committed)
  bg "cpl6-$preload" sg-compliance --no-publish --erasure-preload "$preload" --log-level debug; CPL=$LAST_PID
  wait_until 30 grep -q 'assigned partition' "$T/cpl6-$preload.log" || fail "sg-compliance (erasure run) did not start"
  generate --count 200 --users-limit "$n" --seed $((20 + n))
  wait_until 60 reached $((before + 200)) || fail "the events before the erasure were not evaluated"
  assert_eq 0 "$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'erased_user_activity' AND subject_id = '$U'")" \
    "erased_user_activity flags of user $n before the erasure"
  psql -X -q -w -At -v ON_ERROR_STOP=1 -v e="$email_u" "$PG_DSN" \
    <<<"INSERT INTO privacy_requests (email) VALUES (:'e')" >/dev/null
  sg-gdpr --once --no-notices >>"$T/gdpr.out" 2>>"$T/gdpr.log" || fail "sg-gdpr --once (user $n)"
  generate --count 200 --users-limit "$n" --seed $((40 + n))
  wait_until 60 reached $((before + 400)) || fail "the events after the erasure were not evaluated"
  kill -TERM "$CPL"; wait_pid "$CPL" 30 || fail "sg-compliance (erasure run) exit status"
  [ "$(psql_q "SELECT count(*) FROM compliance_flags WHERE rule = 'erased_user_activity' AND subject_id = '$U'")" -ge 1 ] \
    || fail "no erased_user_activity flag for a user erased while sg-compliance ran (--erasure-preload $preload)"
  grep -q "erasures read: $([ "$preload" = 0 ] && echo 'user by user' || echo 'every erased user at once')" "$T/cpl6-$preload.log" \
    || fail "--erasure-preload $preload: not the expected way of reading erasures"
done
pass "an erasure committed while sg-compliance runs is seen by its next batch (erasures read all at once, and user by user)"

# No PII: no e-mail (nor '@') in flags, evidence, the outbox or the logs.
emails=$(psql_q "SELECT count(*) FROM compliance_flags WHERE evidence::text LIKE '%@%' OR subject_id LIKE '%@%'")
assert_eq 0 "$emails" "flags with an '@'"
assert_eq 0 "$(psql_q "SELECT count(*) FROM outbox WHERE payload LIKE '%@%'")" "outbox payloads with an '@'"
assert_eq 0 "$(psql_q "SELECT count(*) FROM alerts WHERE summary LIKE '%@%' OR counts::text LIKE '%@%' OR subject_id LIKE '%@%'")" "alerts with an '@'"
if grep -l -F "$email" "$T"/cpl*.log "$T/published.txt" "$T/batch.log" 2>/dev/null; then
  fail "an e-mail in the logs"
fi
grep -q '@' "$T/published.txt" && fail "'@' in a published flag"
pass "no PII in flags, outbox, published messages or logs"
