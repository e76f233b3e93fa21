#!/usr/bin/env bash
# sg-test-brokers: embedded
# sg-alert end to end against a real PostgreSQL and a local webhook
# receiver (tests/tools/alert_receiver.py; no Kafka involved). 2,000 alerts
# reach a receiver that fails its first requests, answers 500/503/429 (with
# Retry-After in seconds and as an HTTP-date), lets one request time out
# and goes away for a few seconds, while two sg-alert instances run and
# one is killed with SIGKILL three times: every alert arrives, duplicates
# are exact repeats, every signature is valid, every delivery row is
# 'sent', Retry-After was honoured, no e-mail address reaches a body and
# the secret never reaches a log. Then: a sink answering 403 (dead at
# once), a throttled sink (a digest), max_age (dead, with the last
# error), SIGHUP with a bad file, --once, sg-alert test, and the CLI's
# exit statuses.
source "$(dirname "$0")/lib.sh"

RECEIVER=$SG_SRC/tests/tools/alert_receiver.py
export SG_ALERT_IT_SECRET="it-$RANDOM$RANDOM-hmac-k3y-value"
unset SG_ALERT_IT_UNSET

# ---------------------------------------------------------------- the CLI
for args in "--bogus" "--batch-size 0" "--drain-timeout x" "--progress-interval 0" \
            "extra" "test" "--sink main" "test --sink main --once"; do
  rc_of sg-alert $args >/dev/null 2>"$T/usage.err"
  assert_eq 2 "$RC" "sg-alert $args exit status"
  grep -q "Usage: sg-alert" "$T/usage.err" || fail "sg-alert $args: no usage on stderr"
done

P1=$(sg_free_port); P2=$(sg_free_port); P3=$(sg_free_port); DEAD_PORT=$(sg_free_port)

# A missing secret variable: one line naming it, exit 1.
cat >"$T/unset.sinks" <<CONF
[sink x]
url = http://127.0.0.1:$P1/x
secret_env = SG_ALERT_IT_UNSET
CONF
rc_of sg-alert --once --sinks "$T/unset.sinks" >/dev/null 2>"$T/unset.err"
assert_eq 1 "$RC" "exit status with the secret's variable not set"
assert_eq 1 "$(wc -l <"$T/unset.err")" "lines on stderr with the secret's variable not set"
grep -q "SG_ALERT_IT_UNSET is not set" "$T/unset.err" || fail "the missing variable is not named: $(cat "$T/unset.err")"
# A bad file: FILE:LINE, exit 1.
printf 'timeout = 2s\n\ntimeout = 5 parsecs\n' >"$T/bad.sinks"
rc_of sg-alert --once --sinks "$T/bad.sinks" >/dev/null 2>"$T/bad.err"
assert_eq 1 "$RC" "exit status with a bad sinks file"
grep -q "bad.sinks:3: duplicate key 'timeout'" "$T/bad.err" || fail "no FILE:LINE for the bad file: $(cat "$T/bad.err")"
pass "a bad sinks file is refused with FILE:LINE"

# No database: a line per attempt, and SIGTERM ends it cleanly.
cat >"$T/nodb.sinks" <<CONF
[sink x]
url = http://127.0.0.1:$P1/x
secret_env = SG_ALERT_IT_SECRET
CONF
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" rc_of timeout --foreground --preserve-status -s TERM 3 \
  sg-alert --sinks "$T/nodb.sinks" 2>"$T/alert-nodb.log"
assert_eq 0 "$RC" "sg-alert exit status after SIGTERM while waiting for the database"
[ "$(grep -c 'postgres unavailable' "$T/alert-nodb.log")" -ge 2 ] || fail "sg-alert did not retry the database"
pass "database outage at start: a line per attempt"

db_create
# A wrong password: exit 1 and one line, at once (no retry), daemon or --once.
for mode in --once ""; do
  PGPASSWORD=not-the-password-4711 SG_LOG_LEVEL=warn rc_of timeout 30 sg-alert $mode --sinks "$T/nodb.sinks" 2>"$T/perm.err"
  assert_eq 1 "$RC" "sg-alert $mode exit status with a wrong password"
  assert_eq 1 "$(wc -l <"$T/perm.err")" "sg-alert $mode: lines on stderr with a wrong password"
  grep -q "refused user sg_writer" "$T/perm.err" || fail "the line does not say what was refused"
done

# receiver NAME PORT ARGS...: starts the receiver (log $T/NAME.jsonl) and
# waits until it listens.
receiver() {
  local name=$1 port=$2; shift 2
  rm -f "$T/$name.port"
  bg "$name" python3 "$RECEIVER" --port "$port" --port-file "$T/$name.port" \
    --secret-env SG_ALERT_IT_SECRET --log "$T/$name.jsonl" "$@"
  RECV_PID=$LAST_PID
  wait_until 20 test -s "$T/$name.port" || fail "receiver $name did not start"
}

# ------------------------------------------- 2,000 alerts through faults
cat >"$T/a.sinks" <<CONF
max_age = 10m
connect_timeout = 1s
timeout = 1s
backoff_min = 200ms
backoff_max = 2s
lease = 4s
max_in_flight = 8
[sink main]
url = http://127.0.0.1:$P1/main
secret_env = SG_ALERT_IT_SECRET
sources = compliance
rate_per_minute = 1000000
CONF
receiver recv1 "$P1" --fail-first 40 --delay-ms 15 --timeout-s 3 \
  --plan "503,429:2,ok,ok,timeout,500,503:d2,ok,429:1,ok,ok,500,ok,502,ok,429:3"
R1=$RECV_PID
psql_q "INSERT INTO alerts (alert_id, source, kind, severity, subject_type, subject_id, counts, summary)
        SELECT gen_random_uuid(),
               CASE WHEN i % 2 = 0 THEN 'test' ELSE 'compliance' END,
               CASE WHEN i % 2 = 0 THEN 'test' ELSE 'eu_no_consent' END,
               (ARRAY['low','medium','high'])[1 + i % 3], 'user', 'u-' || i,
               jsonb_build_object('events', i),
               CASE WHEN i % 200 = 1 THEN 'user u-' || i || ' wrote to jane.doe' || i || '@example.com'
                    ELSE 'user u-' || i || ' flagged' END
          FROM generate_series(1, 2000) i"
sent_count() { psql_q "SELECT count(*) FROM alert_deliveries WHERE sink = 'main' AND status = 'sent'"; }
bg alert-b sg-alert --sinks "$T/a.sinks" --progress-interval 2
ALERT_B=$LAST_PID
bg alert-a sg-alert --sinks "$T/a.sinks" --progress-interval 2
ALERT_A=$LAST_PID
ready() { local n; n=$(sent_count); [ "$n" -ge $((KILL_ROUND * 250)) ] && [ "$n" -lt 2000 ]; }
KILL_ROUND=1
restart_a() {
  sg_kill9 "$ALERT_A"
  log "kill -9 sg-alert (round $1) at $(sent_count) sent"
  KILL_ROUND=$(($1 + 1))
  if [ "$1" = 2 ]; then # the receiver goes away for a few seconds, too
    sg_stop_pid "$R1"
    sleep 3
    receiver recv1 "$P1" --delay-ms 15
    R1=$RECV_PID
  fi
  bg alert-a sg-alert --sinks "$T/a.sinks" --progress-interval 2
  ALERT_A=$LAST_PID
}
sg_kill9_loop 3 ready restart_a
all_sent() { [ "$(sent_count)" = 2000 ]; }
wait_until 90 all_sent || fail "not every delivery was sent: $(sent_count) of 2000"
assert_eq "sent 2000" "$(psql_q "SELECT status || ' ' || count(*) FROM alert_deliveries GROUP BY status")" \
  "alert_deliveries by status"
assert_eq 2000 "$(psql_q "SELECT count(*) FROM alerts WHERE routed_at IS NOT NULL")" "alerts routed"
J=$T/recv1.jsonl
assert_eq 2000 "$(jq -r 'select(.status == 200) | .key' "$J" | sort -u | wc -l)" \
  "alert ids the receiver answered 200 (each at least once)"
assert_eq 2000 "$(jq -r 'select(.status == 200) | .alert_id' "$J" | sort -u | wc -l)" \
  "alert ids in 200-answered bodies"
assert_eq 0 "$(jq -r 'select(.key != .alert_id) | .n' "$J" | wc -l)" "requests whose Idempotency-Key is not their alert_id"
assert_eq 0 "$(jq -r '"\(.key) \(.body_sha256)"' "$J" | sort -u | awk '{print $1}' | uniq -d | wc -l)" \
  "alert ids sent with two different bodies"
total=$(wc -l <"$J")
[ "$total" -gt 2040 ] || fail "only $total requests: the faults did not cause retries"
assert_eq 0 "$(jq -r 'select(.signature_valid != true) | .n' "$J" | wc -l)" "requests with an invalid signature"
assert_eq 1 "$(jq -r 'select(.status == "timeout") | .n' "$J" | wc -l)" "requests left to time out"
# Retry-After: the next request for that key came no earlier than asked.
ra=$(jq -rs '[.[] | select(.retry_at != null)] as $asks
  | [ $asks[] as $a | ([.[] | select(.key == $a.key and .time > $a.time)] | min_by(.time)) as $next
      | {asked: $a.retry_at, next: ($next.time // null), form: $a.retry_after} ]' "$J")
assert_eq 4 "$(jq 'length' <<<"$ra")" "answers with Retry-After"
assert_eq 0 "$(jq '[.[] | select(.next == null or .next < .asked)] | length' <<<"$ra")" \
  "retries earlier than Retry-After asked (or missing)"
assert_eq 1 "$(jq '[.[] | select(.form | test("GMT$"))] | length' <<<"$ra")" "Retry-After as an HTTP-date honoured"
# No e-mail address in a body; the ones in summaries were redacted.
assert_eq 0 "$(jq -r '.body' "$J" | grep -c '@' || true)" "bodies with an '@'"
[ "$(jq -r 'select(.status == 200) | .body' "$J" | grep -c 'wrote to \[redacted\]')" -ge 10 ] \
  || fail "the alerts with an e-mail in their summary were not delivered redacted"
pass "e-mail addresses redacted from bodies"
# The body: compact, sorted keys, the text line, the contract's fields.
first=$(jq -rs 'map(select(.status == 200 and .kind == "eu_no_consent")) | .[0].body' "$J")
assert_eq "alert_id,cause_at,counts,created_at,kind,severity,source,subject_id,subject_type,summary,text" \
  "$(jq -r 'keys_unsorted | join(",")' <<<"$first")" "body keys, in order"
[[ "$first" != *": "* ]] || fail "the body is not compact"
jq -e '.text | test("^\\[(LOW|MEDIUM|HIGH)\\] compliance eu_no_consent — user u-[0-9]+ ")' <<<"$first" >/dev/null \
  || fail "text line: $(jq .text <<<"$first")"
pass "body: sorted compact JSON with its text line"
grep -q "started mode=daemon" "$T/alert-b.log" || fail "the second instance did not start"
for pid in "$ALERT_A" "$ALERT_B"; do
  kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
  assert_eq 0 "$rc" "sg-alert exit status (SIGTERM)"
done

# ------------------------------------------------- --once and sg-alert test
psql_q "INSERT INTO alerts (alert_id, source, kind, severity, summary)
        SELECT gen_random_uuid(), 'compliance', 'do_not_track', 'high', 'once ' || i FROM generate_series(1, 10) i"
rc_of sg-alert --once --sinks "$T/a.sinks" 2>"$T/alert-once.log"
assert_eq 0 "$RC" "sg-alert --once exit status"
assert_eq 2010 "$(sent_count)" "deliveries sent when --once returns"
rc_of sg-alert test --sink main --sinks "$T/a.sinks" >"$T/test-ok.out" 2>"$T/test-ok.err"
assert_eq 0 "$RC" "sg-alert test exit status (200)"
grep -Eq "^sink main: HTTP 200 in [0-9]+ ms$" "$T/test-ok.out" || fail "sg-alert test printed: $(cat "$T/test-ok.out")"
# jq -s + any: jq 1.6's -e judges only the last input's output, so a match
# followed by other lines would read as "none".
jq -s -e 'any(.[]; .kind == "test" and .path == "/main" and (.body | fromjson | .source) == "test"
              and .signature_valid and .status == 200)' "$T/recv1.jsonl" >/dev/null || fail "the test alert did not arrive"
pass "sg-alert test: one line, the test alert arrived signed"

# ---------------------------------------- 403, throttling, max_age, SIGHUP
cat >"$T/b.sinks" <<CONF
max_age = 30s
connect_timeout = 500ms
timeout = 1s
backoff_min = 500ms
backoff_max = 1s
lease = 5s
[sink forbid]
url = http://127.0.0.1:$P2/forbid
secret_env = SG_ALERT_IT_SECRET
sources = gdpr
[sink throttled]
url = http://127.0.0.1:$P2/throttled
secret_env = SG_ALERT_IT_SECRET
sources = consumer
rate_per_minute = 5
[sink down]
url = http://127.0.0.1:$DEAD_PORT/down
secret_env = SG_ALERT_IT_SECRET
sources = compare
[sink slowdown]
url = http://127.0.0.1:$P3/slowdown
secret_env = SG_ALERT_IT_SECRET
sources = compliance
CONF
receiver recv2 "$P2" --status-for-kind forbidden=403 --status-for-kind test=403
# Retry-After well above the backoff (0.5-1 s here), in both forms.
receiver recv3 "$P3" --plan "429:3,503:d3"
rc_of sg-alert test --sink forbid --sinks "$T/b.sinks" >"$T/test-403.out" 2>>"$T/test-403.err"
assert_eq 1 "$RC" "sg-alert test exit status (403)"
grep -Eq "^sink forbid: HTTP 403 in [0-9]+ ms" "$T/test-403.out" || fail "sg-alert test printed: $(cat "$T/test-403.out")"
rc_of sg-alert test --sink down --sinks "$T/b.sinks" >"$T/test-down.out" 2>>"$T/test-down.err"
assert_eq 1 "$RC" "sg-alert test exit status (nothing listening)"
grep -Eq "^sink down: connect failure after [0-9]+ ms" "$T/test-down.out" || fail "sg-alert test printed: $(cat "$T/test-down.out")"
# Rows of a sink no longer in the file (looked at when sg-alert starts,
# reloads its file, and every minute): dead once past max_age.
psql_q "INSERT INTO alerts (alert_id, source, kind, severity, summary, created_at, routed_at)
        VALUES ('00000000-0000-4000-8000-0000000000b1', 'gdpr', 'request_failed', 'high', 'gone, old', now() - interval '40 seconds', now()),
               ('00000000-0000-4000-8000-0000000000b2', 'gdpr', 'request_failed', 'high', 'gone, new', now(), now());
        INSERT INTO alert_deliveries (alert_id, sink)
        VALUES ('00000000-0000-4000-8000-0000000000b1', 'gone'), ('00000000-0000-4000-8000-0000000000b2', 'gone')"
cp "$T/b.sinks" "$T/live.sinks"
bg alert-b2 sg-alert --sinks "$T/live.sinks" --progress-interval 2
ALERT=$LAST_PID
wait_until 30 grep -q "started mode=daemon" "$T/alert-b2.log" || fail "sg-alert did not start"
psql_q "INSERT INTO alerts (alert_id, source, kind, severity, summary)
        SELECT gen_random_uuid(), 'gdpr', 'forbidden', 'high', 'request ' || i FROM generate_series(1, 5) i;
        INSERT INTO alerts (alert_id, source, kind, severity, summary, created_at)
        SELECT gen_random_uuid(), 'consumer', CASE WHEN i <= 12 THEN 'offset_gap' ELSE 'dead_letter_rate' END,
               CASE WHEN i <= 12 THEN 'medium' ELSE 'high' END, 'group g partition ' || i,
               now() - (20 - i) * interval '1 ms' -- delivered oldest first: the 5 sent are offset_gap
          FROM generate_series(1, 20) i;
        INSERT INTO alerts (alert_id, source, kind, severity, summary, created_at)
        VALUES ('00000000-0000-4000-8000-0000000000a1', 'compare', 'batch_stream_differ', 'high', 'too old', now() - interval '40 seconds'),
               ('00000000-0000-4000-8000-0000000000a2', 'compare', 'batch_stream_differ', 'high', 'ageing', now() - interval '26 seconds');
        INSERT INTO alerts (alert_id, source, kind, severity, summary)
        SELECT gen_random_uuid(), 'compliance', 'purchase_burst', 'high', 'user u-' || i FROM generate_series(1, 2) i"
forbid_dead() { [ "$(psql_q "SELECT count(*) FROM alert_deliveries WHERE sink = 'forbid' AND status = 'dead' AND last_error = 'http_403' AND http_status = 403 AND attempts = 1")" = 5 ]; }
wait_until 20 forbid_dead || fail "403: $(psql_q "SELECT status, last_error, attempts FROM alert_deliveries WHERE sink = 'forbid'")"
pass "a sink answering 403: rows dead at once, last_error http_403"
digest_sent() { [ "$(psql_q "SELECT count(*) FROM alert_deliveries d JOIN alerts a USING (alert_id) WHERE d.sink = 'throttled' AND a.source = 'digest' AND d.status = 'sent'")" = 1 ]; }
wait_until 20 digest_sent || fail "no digest sent: $(psql_q "SELECT status, count(*) FROM alert_deliveries WHERE sink = 'throttled' GROUP BY 1")"
assert_eq "digested 15|pending 0|sent 6" \
  "$(psql_q "SELECT s || ' ' || (SELECT count(*) FROM alert_deliveries WHERE sink = 'throttled' AND status = s)
             FROM unnest(ARRAY['digested','pending','sent']) s" | paste -sd'|')" "throttled sink: rows by status"
digest=$(psql_q "SELECT alert_id FROM alerts WHERE source = 'digest'")
assert_eq 15 "$(psql_q "SELECT count(*) FROM alert_deliveries WHERE status = 'digested' AND digest_id = '$digest'")" \
  "folded rows carried by the digest"
assert_eq '{"alerts": 15, "by_kind": {"offset_gap": 7, "dead_letter_rate": 8}, "by_severity": {"high": 8, "medium": 7}}|high|1' \
  "$(psql_q "SELECT counts::text || '|' || severity || '|' || (SELECT count(*) FROM alert_deliveries WHERE alert_id = a.alert_id) FROM alerts a WHERE source = 'digest'")" \
  "digest counts, severity, delivery rows"
jq -s -e --arg d "$digest" 'any(.[]; .path == "/throttled" and .key == $d and .status == 200
  and (.body | fromjson | .summary | startswith("15 more alerts in the last minute (high 8, medium 7), by kind: dead_letter_rate 8, offset_gap 7")))' \
  "$T/recv2.jsonl" >/dev/null || fail "the digest did not arrive as expected"
assert_eq 6 "$(jq -r 'select(.path == "/throttled" and .status == 200) | .key' "$T/recv2.jsonl" | sort -u | wc -l)" \
  "requests the throttled sink got (5 + the digest)"
assert_eq "dead|max_age|0" "$(psql_q "SELECT status || '|' || last_error || '|' || attempts FROM alert_deliveries WHERE alert_id = '00000000-0000-4000-8000-0000000000a1'")" \
  "an alert older than max_age: dead without an attempt"
aged_dead() { [ "$(psql_q "SELECT status FROM alert_deliveries WHERE alert_id = '00000000-0000-4000-8000-0000000000a2'")" = dead ]; }
wait_until 20 aged_dead || fail "the failing alert did not die of max_age"
assert_eq "connect" "$(psql_q "SELECT last_error FROM alert_deliveries WHERE alert_id = '00000000-0000-4000-8000-0000000000a2'")" \
  "a failing alert past max_age: dead with its last error"
[ "$(psql_q "SELECT attempts FROM alert_deliveries WHERE alert_id = '00000000-0000-4000-8000-0000000000a2'")" -ge 2 ] \
  || fail "the failing alert was not retried before max_age"
assert_eq "dead|sink_removed pending|" \
  "$(psql_q "SELECT string_agg(status || '|' || coalesce(last_error, ''), ' ' ORDER BY alert_id) FROM alert_deliveries WHERE sink = 'gone'")" \
  "rows of a sink removed from the file: dead past max_age, pending before"
grep -q "their sink is no longer in the sinks file rows=1" "$T/alert-b2.log" || fail "the removed sink's dead rows were not logged"
slowdown_sent() { [ "$(psql_q "SELECT count(*) FROM alert_deliveries WHERE sink = 'slowdown' AND status = 'sent'")" = 2 ]; }
wait_until 20 slowdown_sent || fail "the slowed-down sink did not get its alerts"
ra=$(jq -s '[.[] | select(.retry_at != null)] as $asks | [.[] | select(.status == 200)] as $ok
  | [ $asks[] as $a | {asked: $a.retry_at, next: ([$ok[] | select(.key == $a.key)][0].time)} ]' "$T/recv3.jsonl")
assert_eq 2 "$(jq 'length' <<<"$ra")" "Retry-After answers of the slowed-down sink"
assert_eq 0 "$(jq '[.[] | select(.next == null or .next < .asked)] | length' <<<"$ra")" \
  "retries before Retry-After (3 s; the backoff alone would be 0.5-1 s)"
# SIGHUP: a bad file is refused (FILE:LINE) and the old sinks stay.
printf '[sink broken]\nurl = ftp://example.com/\n' >"$T/live.sinks"
kill -HUP "$ALERT"
wait_until 10 grep -q "sinks file refused" "$T/alert-b2.log" || fail "no refusal after SIGHUP with a bad file"
grep -q "live.sinks:2: url: 'ftp://example.com/' is not an http:// or https:// URL" "$T/alert-b2.log" \
  || fail "the refusal has no FILE:LINE"
psql_q "INSERT INTO alerts (alert_id, source, kind, severity, summary) VALUES (gen_random_uuid(), 'gdpr', 'forbidden', 'low', 'after reload')"
wait_until 20 bash -c "[ \"\$(psql -X -q -w -At '$OWNER_DSN' -c \"SELECT count(*) FROM alert_deliveries WHERE sink = 'forbid' AND status = 'dead'\")\" = 6 ]" \
  || fail "the old sinks did not stay after a refused reload"
pass "SIGHUP with a bad file: refused with FILE:LINE, the old sinks stay"
cp "$T/b.sinks" "$T/live.sinks"
kill -HUP "$ALERT"
wait_until 10 grep -q "sinks file reloaded" "$T/alert-b2.log" || fail "a good file was not reloaded on SIGHUP"
pass "SIGHUP with a good file: reloaded"
kill -TERM "$ALERT"; rc=0; wait "$ALERT" || rc=$?
assert_eq 0 "$rc" "sg-alert exit status (SIGTERM)"

# The secret never reaches a log.
assert_eq 0 "$(cat "$T"/alert*.log "$T"/*.err "$T"/*.out | grep -cF "$SG_ALERT_IT_SECRET" || true)" "log lines with the secret"
