#!/usr/bin/env bash
# Two sg-gdpr instances on 1,000 pending requests (800 users, 100 second
# requests for some of them, 100 unknown e-mails, in shuffled order and
# mixed spellings): every request is processed exactly once, by one
# instance, every user erased exactly once, and exactly one erasure notice
# goes out per user. Then single requests arrive one by one while both run,
# and the INSERT -> processed latency is reported (not asserted).
source "$(dirname "$0")/lib.sh"

db_create
broker_start 3
seed_users 1200 7

# The 1,000 requests, pending before any daemon runs. Spellings vary
# (upper case, padding) so that matching is exercised too.
psql_q "WITH u AS (SELECT email, row_number() OVER (ORDER BY user_id) AS n FROM users_pii),
        reqs AS (
          SELECT CASE n % 3 WHEN 0 THEN email WHEN 1 THEN upper(email) ELSE '  ' || email || ' ' END AS e, n AS k
            FROM u WHERE n <= 800
          UNION ALL SELECT upper(email), 1000 + n FROM u WHERE n <= 800 AND n % 8 = 0
          UNION ALL SELECT 'unknown-' || g || '@example.test', 2000 + g FROM generate_series(1, 100) g)
        INSERT INTO privacy_requests (email) SELECT e FROM reqs ORDER BY md5(k::text)"
assert_eq 1000 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'pending'")" "pending requests"

# Small batches, so that both instances take part.
bg gdpr-a sg-gdpr --batch-size 10 --poll-interval 1 --progress-interval 2
PID_A=$LAST_PID
bg gdpr-b sg-gdpr --batch-size 10 --poll-interval 1 --progress-interval 2
PID_B=$LAST_PID

none_pending() { [ "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'pending'")" = 0 ]; }
wait_until 180 none_pending || fail "requests still pending after 180 s"
pass "all 1,000 requests processed"

assert_eq "already_anonymized 100
anonymized 800
not_found 100" "$(psql_q "SELECT status || ' ' || count(*) FROM privacy_requests GROUP BY status ORDER BY status")" \
  "outcomes"
assert_eq "1000|1000" "$(psql_q "SELECT count(*), count(DISTINCT request_id) FROM gdpr_audit_log")" \
  "audit rows, requests with an audit row"
assert_eq 800 "$(psql_q "SELECT count(*) FROM users_pii WHERE anonymized_at IS NOT NULL")" "users anonymised"
assert_eq "800|800" "$(psql_q "SELECT count(*), count(DISTINCT user_id) FROM gdpr_audit_log WHERE action = 'anonymize_user'")" \
  "erasures, distinct users erased"
assert_eq 0 "$(psql_q "SELECT count(*) FROM (SELECT user_id FROM privacy_requests WHERE user_id IS NOT NULL
                        GROUP BY user_id HAVING count(*) FILTER (WHERE status = 'anonymized') <> 1) x")" \
  "users not anonymised by exactly one request"
assert_eq 0 "$(psql_q "SELECT count(*) FROM privacy_requests WHERE email IS NOT NULL OR
                        (status <> 'failed' AND email_sha256 IS NULL)")" "requests left with a plaintext e-mail or no hash"

# Each request processed by exactly one instance (from their logs).
ids() { sed -n 's/.* request id=\([0-9]*\) status=.*/\1/p' "$T/$1.log" | sort -n; }
ids gdpr-a >"$T/ids-a.txt"; ids gdpr-b >"$T/ids-b.txt"
na=$(wc -l <"$T/ids-a.txt"); nb=$(wc -l <"$T/ids-b.txt")
log "instance a processed $na requests, instance b $nb"
[ "$na" -gt 0 ] && [ "$nb" -gt 0 ] || fail "one instance processed nothing (a=$na b=$nb)"
pass "both instances took part"
assert_eq 1000 "$((na + nb))" "requests logged as processed"
assert_eq 1000 "$(sort -n -u "$T/ids-a.txt" "$T/ids-b.txt" | wc -l)" "distinct requests logged as processed"

# Exactly one notice per erased user.
no_unsent() { [ "$(psql_q "SELECT count(*) FROM privacy_requests WHERE status = 'anonymized' AND notice_sent_at IS NULL")" = 0 ]; }
wait_until 60 no_unsent || fail "notices unsent after 60 s"
pass "every erasure notice acknowledged"
kcat -C -b "$BROKERS" -t privacy_erasures -e -q -f '%k\n' >"$T/erasure-keys.txt" 2>"$T/kcat.log"
assert_eq 800 "$(wc -l <"$T/erasure-keys.txt")" "notices on privacy_erasures"
assert_eq 800 "$(sort -u "$T/erasure-keys.txt" | wc -l)" "distinct users announced"

# Single requests, one transaction each, while both instances run.
psql_q "SELECT 'INSERT INTO privacy_requests (email) VALUES (' || quote_literal(email) || '); SELECT pg_sleep(0.02);'
          FROM users_pii WHERE anonymized_at IS NULL ORDER BY user_id LIMIT 200" >"$T/singles.sql"
first=$(($(psql_q "SELECT max(id) FROM privacy_requests") + 1))
psql -X -q -w -v ON_ERROR_STOP=1 "$PG_DSN" -f "$T/singles.sql" >/dev/null
wait_until 60 none_pending || fail "single requests still pending after 60 s"
assert_eq "anonymized 200" "$(psql_q "SELECT status || ' ' || count(*) FROM privacy_requests WHERE id >= $first GROUP BY status")" \
  "single requests"
lat() {
  psql_q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ms p50, ' ||
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) || ' ms p99, ' ||
                 round(max(ms)::numeric, 1) || ' ms max'
            FROM (SELECT extract(epoch FROM processed_at - requested_at) * 1000 AS ms
                    FROM privacy_requests WHERE $1) x"
}
log "INSERT -> processed, 200 single requests, 2 instances: $(lat "id >= $first")"
log "INSERT -> processed, 1,000 requests pending at start (queueing included): $(lat "id < $first")"

if grep -q '@' "$T/gdpr-a.log" "$T/gdpr-b.log"; then fail "an e-mail-like string in the daemon logs"; fi
pass "no e-mail-like string in the daemon logs"

for pid in "$PID_A" "$PID_B"; do
  kill -TERM "$pid"
  rc=0; wait_pid "$pid" 30 || rc=$?
  assert_eq 0 "$rc" "exit status after SIGTERM"
done
