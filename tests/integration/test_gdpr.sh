#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# sg-gdpr end to end, daemon running: a request for an existing user is
# processed (PII NULL, status, audit row, e-mail replaced by its hash, an
# erasure notice without PII on privacy_erasures); unknown e-mails,
# repeated requests, case and padding variants, an e-mail made of SQL; one
# bad request does not fail its batch; roles; --once; requests made while
# the daemon is stopped; a lost database connection (re-LISTEN); Kafka
# unreachable (erasure goes on, notices wait) and not configured at all;
# and finally no trace of the erased PII in a pg_dump or in the logs.
# No timing assertions: states are polled with generous timeouts.
source "$(dirname "$0")/lib.sh"

# Flags: bad values are usage errors (status 2).
for args in "--batch-size 0" "--batch-size x" "--poll-interval 0" "--poll-interval -1" \
            "--erasure-topic=" "--progress-interval 0" "-X no.such.property=1" "extra"; do
  rc_of sg-gdpr $args >/dev/null 2>"$T/usage.err"; rc=$RC
  assert_eq 2 "$rc" "sg-gdpr $args exit status"
  grep -q "Usage: sg-gdpr" "$T/usage.err" || fail "sg-gdpr $args: no usage on stderr"
done
# No database: a line per attempt, and SIGTERM ends it cleanly. One SIGTERM:
# without --foreground, timeout also signals its process group, and a
# second signal (as a second Ctrl-C) makes a daemon exit at once with 130.
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" rc_of timeout --foreground --preserve-status -s TERM 3 \
  sg-gdpr --no-notices 2>"$T/gdpr-nodb.log"; rc=$RC
assert_eq 0 "$rc" "sg-gdpr exit status after SIGTERM while waiting for the database"
[ "$(grep -c 'postgres unavailable' "$T/gdpr-nodb.log")" -ge 2 ] || fail "sg-gdpr did not retry the database"
pass "database outage: sg-gdpr retries with a line per attempt"

db_create
broker_start 3
seed_users 300 42

# sqlstate DSN SQL: the SQLSTATE SQL fails with ("ok" if none).
sqlstate() {
  if out=$(psql -X -q -w -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$1" -c "$2" 2>&1); then
    echo ok
  else
    echo "$out" | grep -o 'ERROR: *[0-9A-Z]\{5\}' | head -1 | awk '{print $2}'
  fi
}
# request EMAIL: inserts a request the documented way (as sg_writer), prints its id.
request() {
  psql -X -q -w -At -v ON_ERROR_STOP=1 -v e="$1" "$PG_DSN" \
    <<<"INSERT INTO privacy_requests (email) VALUES (:'e') RETURNING id"
}
status() { psql_q "SELECT status FROM privacy_requests WHERE id = $1"; }
is_processed() { [ "$(status "$1")" != pending ]; }
wait_processed() { wait_until 30 is_processed "$1" || fail "request $1 not processed within 30 s (status $(status "$1"))"; }
notice_sent() { [ "$(psql_q "SELECT notice_sent_at IS NOT NULL FROM privacy_requests WHERE id = $1")" = t ]; }
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
log_has() { grep -q -- "$2" "$T/$1.log"; }
start_gdpr() { # start_gdpr NAME ARGS...: starts sg-gdpr, waits for its start line
  local name=$1; shift
  bg "$name" sg-gdpr --poll-interval 1 --progress-interval 2 "$@"
  GDPR_PID=$LAST_PID
  wait_until 30 log_has "$name" "started mode=daemon" || fail "$name did not start"
}
stop_gdpr() { # stop_gdpr NAME: SIGTERM, exit status 0 expected
  local rc=0
  kill -TERM "$GDPR_PID"
  wait_pid "$GDPR_PID" 30 || rc=$?
  assert_eq 0 "$rc" "$1 exit status after SIGTERM"
  log_has "$1" "final processed=" || fail "$1 wrote no final summary"
}

# A user with unmistakable PII of our own, so that the final greps mean
# something, and two more for the failure-isolation case.
ZEB_ID=6f0c1a2e-9b7d-4e3f-8a61-0d2c3b4a5e6f
ZEB_EMAIL=zebulon.quixote.erase-me@example.test
psql_q "INSERT INTO users_pii (user_id, email, first_name, last_name, street_address, city, postal_code, country)
        VALUES ('$ZEB_ID', '$ZEB_EMAIL', 'Zebulon', 'Quixote', '17 Nowhere Lane', 'Xanaduville', 'ZQ-9917', 'DE'),
               ('7a000000-0000-4000-8000-00000000b00b', 'boom.victim.erase-me@example.test', 'Bartholomew', 'Boomsworth',
                '99 Tripwire Crescent', 'Kablooey', 'BB-0001', 'FR'),
               ('7a000000-0000-4000-8000-00000000b0b0', 'bystander.erase-me@example.test', 'Ysolde', 'Bystandish',
                '3 Onlooker Row', 'Spectatown', 'YB-0003', 'IT')"
# Seeded users whose e-mails we will request in other spellings; their
# e-mails are grepped for at the end (their names and streets are not
# unique among the seeded users, so only our own users' are).
mapfile -t SEEDED < <(psql_q "SELECT user_id || '|' || email
                               FROM users_pii WHERE user_id <> '$ZEB_ID' AND email NOT LIKE '%erase-me%'
                               ORDER BY user_id LIMIT 4")
[ "${#SEEDED[@]}" -eq 4 ] || fail "could not pick 4 seeded users"
: >"$T/erased-pii.txt"
printf '%s\n' "$ZEB_EMAIL" Zebulon Quixote "17 Nowhere Lane" Xanaduville ZQ-9917 >>"$T/erased-pii.txt"
printf '%s\n' boom.victim.erase-me@example.test Boomsworth "99 Tripwire Crescent" >>"$T/erased-pii.txt"
printf '%s\n' bystander.erase-me@example.test Bystandish "3 Onlooker Row" >>"$T/erased-pii.txt"
for row in "${SEEDED[@]}"; do echo "${row#*|}" >>"$T/erased-pii.txt"; done
field() { IFS='|' read -r -a f <<<"${SEEDED[$1]}"; echo "${f[$2]}"; }

start_gdpr gdpr

# --- 1. an existing user ---------------------------------------------------
id=$(request "$ZEB_EMAIL")
wait_processed "$id"
assert_eq anonymized "$(status "$id")" "status of a request for an existing user"
assert_eq "$ZEB_ID" "$(psql_q "SELECT user_id FROM privacy_requests WHERE id = $id")" "request's user_id"
assert_eq "t|t|t|t|t|t|t|DE" "$(psql_q "SELECT email IS NULL, first_name IS NULL, last_name IS NULL,
    street_address IS NULL, city IS NULL, postal_code IS NULL, anonymized_at IS NOT NULL, country
    FROM users_pii WHERE user_id = '$ZEB_ID'")" "users_pii PII columns NULL, anonymized_at set, country kept"
assert_eq "1|anonymize_user|$ZEB_ID|{email,first_name,last_name,street_address,city,postal_code}|t" \
  "$(psql_q "SELECT count(*) OVER (), action, user_id, affected_columns, processing_ms >= 0
             FROM gdpr_audit_log WHERE request_id = $id")" "audit row of the erasure"
assert_eq "t|$(sha "$ZEB_EMAIL")|t|" "$(psql_q "SELECT email IS NULL, email_sha256, processed_at IS NOT NULL, coalesce(error, '')
    FROM privacy_requests WHERE id = $id")" "request e-mail replaced by its SHA-256"
ZEB_REQ=$id

# The erasure notice: on privacy_erasures, key = user_id, no e-mail.
wait_until 30 notice_sent "$ZEB_REQ" || fail "notice_sent_at not set for request $ZEB_REQ"
pass "notice_sent_at set once the broker acknowledged the notice"
kcat -C -b "$BROKERS" -t privacy_erasures -e -q -f '%k\t%s\n' >"$T/erasures.txt" 2>"$T/kcat.log"
line=$(grep -F "\"request_id\":$ZEB_REQ," "$T/erasures.txt" || true)
[ -n "$line" ] || fail "no notice for request $ZEB_REQ on privacy_erasures"
assert_eq "$ZEB_ID" "$(cut -f1 <<<"$line")" "notice key"
assert_eq "erased_at,request_id,user_id|$ZEB_ID|$ZEB_REQ" \
  "$(cut -f2 <<<"$line" | jq -r '[(keys | join(",")), .user_id, (.request_id | tostring)] | join("|")')" \
  "notice fields"
cut -f2 <<<"$line" | jq -e '.erased_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' >/dev/null \
  || fail "erased_at is not RFC 3339 UTC"
pass "notice erased_at is RFC 3339 UTC"
if grep -q '@' "$T/erasures.txt"; then fail "an e-mail-like string on privacy_erasures"; fi
pass "no e-mail on privacy_erasures"

# --- 2. outcomes -------------------------------------------------------------
id=$(request "nobody-here@example.test")
wait_processed "$id"
assert_eq "not_found||not_found" "$(psql_q "SELECT r.status, coalesce(r.user_id::text, ''), a.action
    FROM privacy_requests r JOIN gdpr_audit_log a ON a.request_id = r.id WHERE r.id = $id")" "unknown e-mail"

id=$(request "$ZEB_EMAIL")
wait_processed "$id"
assert_eq "already_anonymized|$ZEB_ID|already_anonymized" "$(psql_q "SELECT r.status, r.user_id, a.action
    FROM privacy_requests r JOIN gdpr_audit_log a ON a.request_id = r.id WHERE r.id = $id")" \
  "second request for the same user"

# Case and padding variants (a request the same person might type).
id1=$(request "$(field 0 1 | tr '[:lower:]' '[:upper:]')")
id2=$(request "   $(field 1 1)"$'\t')   # a tab is not trimmed: see below
id3=$(request "  $(field 2 1 | sed 's/^./\U&/')  ")
for i in "$id1" "$id2" "$id3"; do wait_processed "$i"; done
assert_eq "anonymized|$(field 0 0)" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $id1")" \
  "upper-case e-mail matches"
assert_eq "anonymized|$(field 2 0)" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $id3")" \
  "padded, capitalised e-mail matches"
# btrim() trims spaces only (the index users_pii_email_norm is on
# lower(btrim(email))): a trailing tab makes it another address.
assert_eq "not_found" "$(status "$id2")" "e-mail with a trailing tab"
id2=$(request "   $(field 1 1)   ")
wait_processed "$id2"
assert_eq "anonymized|$(field 1 0)" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $id2")" \
  "space-padded e-mail matches"
assert_eq "$(sha "$(field 0 1)")" "$(psql_q "SELECT email_sha256 FROM privacy_requests WHERE id = $id1")" \
  "hash is of the normalised e-mail"

# Two users whose addresses differ only in case and padding: one request
# erases both (an audit row each); two requests for one user in the same
# batch: the first erases, the second finds it done.
psql_q "INSERT INTO users_pii (user_id, email, first_name, country) VALUES
          ('7a000000-0000-4000-8000-0000000d0001', 'Twin.Erase-Me@example.test', 'Castor', 'SE'),
          ('7a000000-0000-4000-8000-0000000d0002', ' twin.erase-me@example.test', 'Pollux', 'SE')"
printf '%s\n' Twin.Erase-Me@example.test Castor Pollux >>"$T/erased-pii.txt"
ids=$(psql -X -q -w -At -v ON_ERROR_STOP=1 "$PG_DSN" -c "INSERT INTO privacy_requests (email)
        VALUES ('twin.erase-me@example.test'), ('TWIN.erase-me@example.test') RETURNING id")
t1=$(head -1 <<<"$ids"); t2=$(tail -1 <<<"$ids")
wait_processed "$t1"; wait_processed "$t2"
assert_eq "anonymized|7a000000-0000-4000-8000-0000000d0001" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $t1")" \
  "request matching two spellings of one address"
assert_eq "7a000000-0000-4000-8000-0000000d0001 anonymize_user
7a000000-0000-4000-8000-0000000d0002 anonymize_user" \
  "$(psql_q "SELECT user_id || ' ' || action FROM gdpr_audit_log WHERE request_id = $t1 ORDER BY user_id")" \
  "an audit row per user erased"
assert_eq 0 "$(psql_q "SELECT count(*) FROM users_pii WHERE user_id::text LIKE '7a000000-0000-4000-8000-0000000d000_' AND anonymized_at IS NULL")" \
  "twin users left with PII"
assert_eq "already_anonymized|7a000000-0000-4000-8000-0000000d0001" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $t2")" \
  "second request for the same user in the same batch"

users_before=$(psql_q "SELECT count(*) FROM users_pii")
id=$(request "x'); DROP TABLE users_pii; --@example.com")
wait_processed "$id"
assert_eq not_found "$(status "$id")" "an e-mail made of SQL is just an unknown e-mail"
assert_eq "$users_before" "$(psql_q "SELECT count(*) FROM users_pii")" "users_pii intact"

id=$(request "   ")
wait_processed "$id"
assert_eq "failed|the request has no e-mail" "$(psql_q "SELECT status, error FROM privacy_requests WHERE id = $id")" \
  "blank e-mail"
# alert_of ID KIND: "severity|subject|summary" of the request's alert(s).
alert_of() {
  psql_q "SELECT string_agg(severity || '|' || subject_type || ':' || subject_id || '|' || summary, ',')
            FROM alerts WHERE source = 'gdpr' AND kind = '$2' AND subject_id = '$1'"
}
assert_eq "high|privacy_request:$id|privacy request $id failed: the request has no e-mail" \
  "$(alert_of "$id" request_failed)" "the failed request's alert"

# --- 3. one bad request does not fail its batch ---------------------------
# A trigger of the owner's refuses to erase one user, quoting the e-mail in
# its message: the request fails on its own, the error text keeps no PII,
# and the other request of the same batch (same INSERT) is processed.
psql_q "CREATE FUNCTION sgit_refuse() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN
          IF OLD.email = 'boom.victim.erase-me@example.test' THEN
            RAISE EXCEPTION 'refusing to erase %', OLD.email;
          END IF;
          RETURN NEW;
        END \$\$;
        CREATE TRIGGER sgit_refuse BEFORE UPDATE ON users_pii
          FOR EACH ROW EXECUTE FUNCTION sgit_refuse()"
ids=$(psql -X -q -w -At -v ON_ERROR_STOP=1 "$PG_DSN" -c "INSERT INTO privacy_requests (email)
        VALUES ('boom.victim.erase-me@example.test'), ('bystander.erase-me@example.test') RETURNING id")
bad=$(head -1 <<<"$ids"); ok=$(tail -1 <<<"$ids")
wait_processed "$bad"; wait_processed "$ok"
assert_eq "failed|SQLSTATE P0001" "$(psql_q "SELECT status, error FROM privacy_requests WHERE id = $bad")" \
  "failing request: status and error (SQLSTATE, no message text)"
assert_eq "t|failed" "$(psql_q "SELECT r.email IS NULL, a.action FROM privacy_requests r
    JOIN gdpr_audit_log a ON a.request_id = r.id WHERE r.id = $bad")" "failed request: e-mail hashed, audit row"
assert_eq "anonymized" "$(status "$ok")" "the other request of the same batch"
assert_eq "high|privacy_request:$bad|privacy request $bad failed: SQLSTATE P0001" \
  "$(alert_of "$bad" request_failed)" "the failing request's alert (no message text)"
assert_eq "" "$(alert_of "$ok" request_failed)" "an alert for the request that succeeded"
log_has gdpr "one by one" || fail "no log line about the batch being redone request by request"
pass "batch redone request by request"
psql_q "DROP TRIGGER sgit_refuse ON users_pii; DROP FUNCTION sgit_refuse()"
id=$(request "boom.victim.erase-me@example.test")
wait_processed "$id"
assert_eq anonymized "$(status "$id")" "a new request once the cause is gone"

# --- 4. roles ---------------------------------------------------------------
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" 'SELECT email FROM privacy_requests')" \
  "analytics reading privacy_requests.email"
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" 'SELECT status, email_sha256, user_id, processed_at FROM privacy_requests')" \
  "analytics reading request outcomes"
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" 'SELECT count(*) FROM gdpr_audit_log')" "analytics reading the audit log"
assert_eq 42501 "$(sqlstate "$PG_DSN" "UPDATE gdpr_audit_log SET action = 'x'")" "writer updating gdpr_audit_log"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'DELETE FROM gdpr_audit_log')" "writer deleting from gdpr_audit_log"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'TRUNCATE gdpr_audit_log')" "writer truncating gdpr_audit_log"

# --- 5. a lost database connection: reconnect, re-LISTEN ------------------
psql -X -q -w -At "$PG_DSN" -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE application_name = 'sg-gdpr' AND datname = current_database()" >/dev/null
wait_until 30 log_has gdpr "listening again" || fail "no re-LISTEN after the connection was terminated"
pass "re-LISTENed after losing the connection"
id=$(request "$(field 3 1)")
wait_processed "$id"
assert_eq anonymized "$(status "$id")" "request after a reconnect"
stop_gdpr gdpr

# --- 6. daemon stopped: requests wait; --once; startup sweep ---------------
# The simulation script says clearly that nobody processed its request.
rc_of "$SG_SRC/scripts/gdpr-request.sh" --email demo-nobody@example.test --timeout 2 \
  >"$T/demo-stopped.out" 2>"$T/demo-stopped.err"; rc=$RC
assert_eq 1 "$rc" "gdpr-request.sh exit status without sg-gdpr"
grep -q "still pending after 2 s: is sg-gdpr running" "$T/demo-stopped.err" || fail "gdpr-request.sh: no clear message"
pass "gdpr-request.sh explains a request nobody processed"
id=$(request "still-nobody@example.test")
sleep 1.5
assert_eq pending "$(status "$id")" "request while no daemon runs"
rc_of sg-gdpr --once 2>"$T/gdpr-once.log"; rc=$RC
assert_eq 0 "$rc" "sg-gdpr --once exit status"
assert_eq not_found "$(status "$id")" "request processed by --once"
log_has gdpr-once "final processed=2 " || fail "--once summary"
pass "--once processed both pending requests and said so"

# Requests pending too long (--overdue-after, default 25 days, before the
# 30-day legal limit): one alert each, checked before they are processed;
# a younger one has none. Run twice: still one alert.
late=$(psql -X -q -w -At -v ON_ERROR_STOP=1 "$PG_DSN" -c "INSERT INTO privacy_requests (email, requested_at)
        VALUES ('late-nobody@example.test', now() - interval '26 days 12 hours') RETURNING id")
young=$(psql -X -q -w -At -v ON_ERROR_STOP=1 "$PG_DSN" -c "INSERT INTO privacy_requests (email, requested_at)
        VALUES ('young-nobody@example.test', now() - interval '10 days') RETURNING id")
rc_of sg-gdpr --once 2>"$T/gdpr-overdue.log"; rc=$RC
assert_eq 0 "$rc" "sg-gdpr --once (overdue requests) exit status"
assert_eq "high|privacy_request:$late|privacy request $late pending for 26.5 days (legal limit 30 days, 3.5 left)" \
  "$(alert_of "$late" request_overdue)" "the overdue request's alert"
assert_eq "" "$(alert_of "$young" request_overdue)" "an alert for a 10-day-old request"
assert_eq not_found "$(status "$late")" "the overdue request, processed"
log_has gdpr-overdue "alerts=1" || fail "sg-gdpr did not log the overdue alert"
psql_q "UPDATE privacy_requests SET status = 'pending' WHERE id = $late" >/dev/null
rc_of sg-gdpr --once --no-notices 2>"$T/gdpr-overdue2.log"
assert_eq 1 "$(psql_q "SELECT count(*) FROM alerts WHERE kind = 'request_overdue'")" "overdue alerts after a second check"
pass "requests pending over 25 days are alerted once, younger ones not"

id=$(request "and-still-nobody@example.test")
sleep 1
assert_eq pending "$(status "$id")" "request while no daemon runs (2)"

# --- 7. Kafka unreachable: erasure goes on, notices wait ------------------
# Pick a live seeded user (not requested so far).
live=$(psql_q "SELECT user_id || '|' || email FROM users_pii WHERE anonymized_at IS NULL
               AND email NOT LIKE '%erase-me%' ORDER BY user_id DESC LIMIT 1")
LIVE_ID=${live%%|*}; LIVE_EMAIL=${live#*|}
printf '%s\n' "$LIVE_EMAIL" >>"$T/erased-pii.txt"
start_gdpr gdpr-nokafka --brokers 127.0.0.1:1 -X message.timeout.ms=2000
wait_processed "$id"   # the startup sweep took the request made while stopped
assert_eq not_found "$(status "$id")" "request made while stopped, processed at start"
id=$(request "$LIVE_EMAIL")
wait_processed "$id"
assert_eq anonymized "$(status "$id")" "erasure with Kafka unreachable"
wait_until 30 log_has gdpr-nokafka "not delivered" || fail "undelivered notice not reported"
assert_eq "" "$(psql_q "SELECT notice_sent_at FROM privacy_requests WHERE id = $id")" \
  "notice pending while Kafka is unreachable"
stop_gdpr gdpr-nokafka
NOTICE_REQ=$id

# No broker configured at all: a warning, once; erasure works.
id=$(request "nobody-either@example.test")
SG_BROKER_FILE=$T/no-such-broker.addr rc_of sg-gdpr --once 2>"$T/gdpr-nobroker.log"; rc=$RC
assert_eq 0 "$rc" "sg-gdpr --once without any broker: exit status"
assert_eq not_found "$(status "$id")" "processed without any broker"
assert_eq 1 "$(grep -c 'no Kafka broker configured' "$T/gdpr-nobroker.log")" "warnings about the missing broker"

# Back with a broker: the pending notice goes out. (A short message
# timeout, so that the outage below shows up within seconds.)
start_gdpr gdpr2 -X message.timeout.ms=3000
wait_until 30 notice_sent "$NOTICE_REQ" || fail "pending notice not sent once Kafka was back"
kcat -C -b "$BROKERS" -t privacy_erasures -e -q -f '%k\t%s\n' >"$T/erasures.txt" 2>>"$T/kcat.log"
grep -qF "\"user_id\":\"$LIVE_ID\",\"request_id\":$NOTICE_REQ," "$T/erasures.txt" \
  || fail "the delayed notice is not on privacy_erasures"
pass "notice delayed by the Kafka outage delivered afterwards"

# The simulation script, daemon running: before/after of a real user.
demo=$(psql_q "SELECT email FROM users_pii WHERE anonymized_at IS NULL AND email NOT LIKE '%erase-me%'
               ORDER BY user_id DESC LIMIT 1 OFFSET 1")
printf '%s\n' "$demo" >>"$T/erased-pii.txt"
"$SG_SRC/scripts/gdpr-request.sh" --email "$demo" >"$T/demo.out" 2>"$T/demo.err" || fail "gdpr-request.sh exit status"
grep -q "^status: anonymized" "$T/demo.out" || fail "gdpr-request.sh did not see the request processed"
assert_eq 1 "$(grep -cF "$demo" "$T/demo.out")" "gdpr-request.sh lines with the e-mail (the row before erasure only)"
grep -q "anonymize_user" "$T/demo.out" || fail "gdpr-request.sh shows no audit row"
pass "gdpr-request.sh shows before, after, request and audit rows"

# The broker goes down under the running daemon, and comes back: erasure
# goes on, the notice waits and is sent once the broker is back.
live=$(psql_q "SELECT user_id || '|' || email FROM users_pii WHERE anonymized_at IS NULL
               AND email NOT LIKE '%erase-me%' ORDER BY user_id DESC LIMIT 1")
printf '%s\n' "${live#*|}" >>"$T/erased-pii.txt"
broker_down
id=$(request "${live#*|}")
wait_processed "$id"
assert_eq anonymized "$(status "$id")" "erasure while the broker is down"
wait_until 30 log_has gdpr2 "not delivered" || fail "undelivered notice not reported (broker down)"
assert_eq "" "$(psql_q "SELECT notice_sent_at FROM privacy_requests WHERE id = $id")" \
  "notice pending while the broker is down"
broker_up
wait_until 60 notice_sent "$id" || fail "notice not sent after the broker came back"
pass "notice sent after the broker came back (same daemon)"
kcat -C -b "$BROKERS" -t privacy_erasures -e -q -f '%k\t%s\n' >"$T/erasures.txt" 2>>"$T/kcat.log"
grep -qF "\"user_id\":\"${live%%|*}\",\"request_id\":$id," "$T/erasures.txt" \
  || fail "the notice delayed by the broker outage is not on privacy_erasures"
pass "notice delayed by the broker outage on privacy_erasures"

assert_eq 0 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'anonymized' AND notice_sent_at IS NULL")" \
  "anonymized requests with unsent notices"
assert_eq "$(psql_q "SELECT count(*) FROM gdpr_audit_log WHERE action = 'anonymize_user'")" \
  "$(cut -f1 "$T/erasures.txt" | sort -u | wc -l)" "users erased = distinct users announced"
stop_gdpr gdpr2

# --- 8. no trace of the erased PII -----------------------------------------
assert_eq 0 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE email IS NOT NULL")" "plaintext e-mails left in privacy_requests"
pg_dump -w "$OWNER_DSN" >"$T/dump.sql" 2>"$T/pg_dump.err" || { cat "$T/pg_dump.err" >&2; fail "pg_dump"; }
grep -q "gdpr_audit_log" "$T/dump.sql" || fail "pg_dump output looks empty"
found=0
while IFS= read -r pii; do
  [ -n "$pii" ] || continue
  if grep -qiF -- "$pii" "$T/dump.sql"; then log "erased PII found in pg_dump: a value of ${#pii} chars"; found=$((found + 1)); fi
  for f in "$T"/gdpr*.log "$T/erasures.txt"; do
    if grep -qiF -- "$pii" "$f"; then log "erased PII found in $(basename "$f")"; found=$((found + 1)); fi
  done
done <"$T/erased-pii.txt"
assert_eq 0 "$found" "erased e-mails, names and addresses in pg_dump, daemon logs or notices"
# The check is meaningful: PII of users not erased is in the dump.
kept=$(psql_q "SELECT email FROM users_pii WHERE email IS NOT NULL ORDER BY user_id LIMIT 1")
grep -qF -- "$kept" "$T/dump.sql" || fail "pg_dump does not contain the PII of a user not erased"
pass "pg_dump does contain the PII of users not erased"
