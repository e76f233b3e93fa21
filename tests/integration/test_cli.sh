#!/usr/bin/env bash
# Conventions every binary follows: --help and --version exit 0, a bad flag
# prints usage and exits 2; a missing broker or database gets a one-line
# explanation (and, for daemons, a retry), not a crash or a silent hang.
source "$(dirname "$0")/lib.sh"

for bin in sg-broker sg-seed-users sg-generate sg-raw-store sg-migrate sg-gdpr sg-report; do
  "$bin" --help >"$T/help.out" 2>&1 || fail "$bin --help exit status"
  grep -q "Usage: $bin" "$T/help.out" || fail "$bin --help has no usage line"
  "$bin" --version | grep -q "$bin (StreamGuard) [0-9]" || fail "$bin --version"
  set +e; "$bin" --no-such-flag >"$T/bad.out" 2>"$T/bad.err"; rc=$?; set -e
  assert_eq 2 "$rc" "$bin --no-such-flag exit status"
  grep -q "Usage: $bin" "$T/bad.err" || fail "$bin: bad flag prints no usage on stderr"
  set +e; "$bin" -X novalue >/dev/null 2>&1; rc=$?; set -e
  assert_eq 2 "$rc" "$bin -X without '=' exit status"
done
set +e
sg-generate --rate 10 >/dev/null 2>&1; assert_eq 2 $? "sg-generate without --count/--duration"
sg-generate --count -5 >/dev/null 2>&1; assert_eq 2 $? "sg-generate --count -5"
sg-generate --count 10 --invalid-ratio 1.5 >/dev/null 2>&1; assert_eq 2 $? "sg-generate --invalid-ratio 1.5"
sg-raw-store --batch-rows 0 >/dev/null 2>&1; assert_eq 2 $? "sg-raw-store --batch-rows 0"
sg-raw-store --on-gap maybe >/dev/null 2>&1; assert_eq 2 $? "sg-raw-store --on-gap maybe"
sg-broker --partitions 0 >/dev/null 2>&1; assert_eq 2 $? "sg-broker --partitions 0"
set -e

# No broker anywhere: one line that says what to do, exit 1.
export SG_BROKER_FILE=$T/no-such-broker.addr
set +e; sg-generate --count 1 --dsn "dbname=nowhere host=127.0.0.1 port=1" >/dev/null 2>"$T/nobroker.err"; rc=$?; set -e
[ "$rc" -ne 0 ] || fail "sg-generate without any broker succeeded"
pass "sg-generate without a broker exits $rc"

# No database: the daemon says so and retries; SIGTERM ends it cleanly.
db_create
broker_start 2
set +e
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" timeout --foreground --preserve-status -s TERM 4 sg-raw-store 2>"$T/nodb.err"
rc=$?
set -e
grep -q "postgres unavailable, retrying" "$T/nodb.err" || fail "no retry line without a database"
[ "$(grep -c 'postgres unavailable' "$T/nodb.err")" -ge 2 ] || fail "did not retry"
assert_eq 0 "$rc" "sg-raw-store exit status after SIGTERM while waiting for the database"
pass "database outage: $(grep -c 'postgres unavailable' "$T/nodb.err") retry lines, clean exit"

# The broker's address file is removed when it stops.
kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || fail "sg-broker exit status on SIGTERM"
[ ! -e "$SG_BROKER_FILE" ] || fail "sg-broker left its address file behind"
pass "sg-broker removes its address file on exit"
