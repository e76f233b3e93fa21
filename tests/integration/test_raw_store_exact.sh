#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# 50,000 events, 2% invalid (cycling through every reason code): events_raw
# holds exactly the valid ones, events_rejected exactly the invalid ones with
# the right reason counts, no duplicates, every offset accounted for.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 6
seed_users 500 42
generate --count 50000 --invalid-ratio 0.02 --seed 11
delivered=$(jq .delivered "$T/gen.json"); invalid=$(jq .invalid "$T/gen.json")
assert_eq 50000 "$delivered" "events delivered"
assert_eq 1000 "$invalid" "invalid events produced"

sg-raw-store --idle-exit 3 --progress-interval 2 2>"$T/raw.log" || fail "sg-raw-store exited non-zero"
audit_raw_store 49000 1000 50000
assert_eq "$(expected_reasons)" "$(actual_reasons)" "rejections by reason"
assert_eq 10 "$(psql_q 'SELECT count(DISTINCT reason) FROM events_rejected')" "distinct reason codes"

# Stored as the contract says: lower-case ids, truncated IPs, redacted e-mails.
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_raw WHERE family(ip_truncated) = 4 AND host(ip_truncated) !~ '\.0$'")" \
  "IPv4 addresses not truncated to /24"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_raw WHERE metadata::text ~ '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}'")" \
  "e-mail-like strings left in metadata"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_rejected WHERE payload ~ '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}'")" \
  "e-mail-like strings left in rejected payloads"
assert_eq 0 "$(psql_q "SELECT count(*) FROM events_raw WHERE amount <> 0 AND event_type <> 'purchase'")" \
  "amounts on non-purchases"
grep -q "final .*committed=50000" "$T/raw.log" || fail "final progress line with committed=50000 missing"
pass "final progress line"
