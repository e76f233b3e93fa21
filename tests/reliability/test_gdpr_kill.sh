#!/usr/bin/env bash
# sg-gdpr killed with SIGKILL mid-batch, several times, and restarted each
# time, on 3,000 pending requests (2,000 seeded users, 400 second requests
# for some of them, 600 unknown e-mails, shuffled, in mixed spellings):
# every request ends processed exactly once (one outcome, one audit row,
# never logged as processed by two instances), every user named is
# anonymised exactly once (its anonymized_at is its request's processing
# time), nobody else is touched, and every erasure notice is sent in the
# end (a crashed instance's leased notices are taken over once the lease
# expires). Notices are at-least-once by design (sql/005): a kill between
# delivery and the notice_sent_at update sends one again; that count is
# reported, not asserted.
#
# To make the kills land inside batches, a trigger of the test's (owner's)
# slows each request's processing by 3 ms: a batch of 50 then keeps its
# transaction open for about 150 ms.
source "$(dirname "$0")/../integration/lib.sh"

SEED=${SG_KILL_SEED:-6161}
RANDOM=$SEED
KILLS=5
db_create
broker_start 3
B=$(head -1 "$SG_BROKER_FILE")
seed_users 2500 7
psql_q "WITH u AS (SELECT email, row_number() OVER (ORDER BY user_id) AS n FROM users_pii),
        reqs AS (
          SELECT CASE n % 3 WHEN 0 THEN email WHEN 1 THEN upper(email) ELSE '  ' || email || ' ' END AS e, n AS k
            FROM u WHERE n <= 2000
          UNION ALL SELECT upper(email), 10000 + n FROM u WHERE n <= 2000 AND n % 5 = 0
          UNION ALL SELECT 'unknown-' || g || '@example.test', 20000 + g FROM generate_series(1, 600) g)
        INSERT INTO privacy_requests (email) SELECT e FROM reqs ORDER BY md5(k::text)"
assert_eq 3000 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'pending'")" "pending requests"
psql_q "CREATE FUNCTION sgit_slow() RETURNS trigger LANGUAGE plpgsql AS \$\$
        BEGIN PERFORM pg_sleep(0.003); RETURN NEW; END \$\$;
        CREATE TRIGGER sgit_slow BEFORE UPDATE ON privacy_requests FOR EACH ROW
          WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') EXECUTE FUNCTION sgit_slow()"

# Short producer timeouts: the notice lease (10 s + message and socket
# timeouts) then expires ~16 s after a crash instead of ~100 s.
N=0
start_gdpr() {
  N=$((N + 1))
  bg "gdpr.$N" sg-gdpr --batch-size 50 --poll-interval 1 --progress-interval 2 \
    -X message.timeout.ms=2000 -X socket.timeout.ms=2000
  GDPR=$LAST_PID
}
pending() { psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'pending'"; }
log "kill schedule seeded with RANDOM=$SEED"
start_gdpr
# Once this instance has processed a batch, a random 0.1-0.9 s later,
# while requests are still pending.
gdpr_ready() { grep -q "request id=" "$T/gdpr.$N.log"; }
gdpr_restart() {
  local left
  left=$(pending)
  [ "$left" -gt 0 ] || fail "every request was processed before kill $1: the kills must land mid-run"
  sg_kill9 "$GDPR"
  log "killed sg-gdpr instance $N (kill $1) with $left requests pending before it"
  start_gdpr
}
sg_kill9_loop "$KILLS" gdpr_ready gdpr_restart
none_pending() { [ "$(pending)" = 0 ]; }
wait_until 120 none_pending || fail "requests still pending: $(pending)"
pass "no request pending after $KILLS kills"
no_unsent() { [ "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'anonymized' AND notice_sent_at IS NULL")" = 0 ]; }
wait_until 90 no_unsent || fail "anonymized requests with unsent notices: $(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'anonymized' AND notice_sent_at IS NULL")"
pass "every erasure notice sent"
kill -TERM "$GDPR"
rc=0; wait_pid "$GDPR" 30 || rc=$?
assert_eq 0 "$rc" "last sg-gdpr exit status (SIGTERM)"

# Outcomes: exactly one per request.
assert_eq "already_anonymized 400
anonymized 2000
not_found 600" "$(psql_q "SELECT status || ' ' || count(*) FROM privacy_requests GROUP BY status ORDER BY status")" \
  "outcomes"
assert_eq "3000|3000" "$(psql_q "SELECT count(*), count(DISTINCT request_id) FROM gdpr_audit_log")" \
  "audit rows, requests with an audit row"
assert_eq 0 "$(psql_q "SELECT count(*) FROM (SELECT 1 FROM gdpr_audit_log
                        GROUP BY request_id, user_id, action HAVING count(*) > 1) d")" \
  "request/user/action with more than one audit row"
assert_eq 0 "$(psql_q "SELECT count(*) FROM privacy_requests r JOIN gdpr_audit_log a ON a.request_id = r.id
                        WHERE a.action <> CASE r.status WHEN 'anonymized' THEN 'anonymize_user' ELSE r.status END
                           OR a.user_id IS DISTINCT FROM r.user_id")" \
  "audit rows disagreeing with their request's outcome or user"
assert_eq "2000|2000" "$(psql_q "SELECT count(*), count(DISTINCT user_id) FROM gdpr_audit_log WHERE action = 'anonymize_user'")" \
  "erasures, distinct users erased"
# Each user anonymised once: by the request that says so, at its time.
assert_eq "2000|0" "$(psql_q "SELECT count(*), count(*) FILTER (WHERE u.anonymized_at IS DISTINCT FROM r.processed_at)
                              FROM users_pii u JOIN privacy_requests r ON r.user_id = u.user_id AND r.status = 'anonymized'")" \
  "users anonymised by an anonymized request, at that request's processing time"
assert_eq "2000|500" "$(psql_q "SELECT count(*) FILTER (WHERE anonymized_at IS NOT NULL AND email IS NULL AND first_name IS NULL
                                                       AND last_name IS NULL AND street_address IS NULL),
                                       count(*) FILTER (WHERE anonymized_at IS NULL AND email IS NOT NULL)
                                  FROM users_pii")" "users anonymised, users untouched"
assert_eq 0 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE email IS NOT NULL OR email_sha256 IS NULL OR processed_at IS NULL")" \
  "requests left with a plaintext e-mail, no hash or no processing time"

# No request logged as processed by two instances (the line is written
# after the batch's COMMIT).
sed -n 's/.* request id=\([0-9]*\) status=.*/\1/p' "$T"/gdpr.*.log | sort -n >"$T/logged-ids.txt"
assert_eq 0 "$(uniq -d "$T/logged-ids.txt" | wc -l)" "requests logged as processed more than once"
log "requests logged as processed: $(wc -l <"$T/logged-ids.txt") of 3000 (a kill between COMMIT and the log line loses the line only)"
for i in $(seq 1 "$KILLS"); do
  if grep -qE "AddressSanitizer|runtime error:" "$T/gdpr.$i.log"; then fail "sanitizer report in gdpr.$i.log"; fi
done
pass "no sanitizer report"

# Notices on privacy_erasures: every erased user announced, nobody else.
kcat -C -b "$B" -t privacy_erasures -e -q -f '%k\n' >"$T/erasure-keys.txt" 2>"$T/kcat.log"
psql_q "SELECT user_id FROM privacy_requests WHERE status = 'anonymized'" | LC_ALL=C sort >"$T/erased-users.txt"
assert_eq "$(cat "$T/erased-users.txt")" "$(LC_ALL=C sort -u "$T/erasure-keys.txt")" "users announced on privacy_erasures = users erased"
log "notices on privacy_erasures: $(wc -l <"$T/erasure-keys.txt") for 2000 users ($(( $(wc -l <"$T/erasure-keys.txt") - 2000 )) sent again after a kill: at-least-once)"
