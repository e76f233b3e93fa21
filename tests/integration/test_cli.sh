#!/usr/bin/env bash
# Conventions every binary follows, checked on every sg-* binary the build
# made (not a hand-kept list): --help and --version exit 0, a bad flag
# prints usage and exits 2, --help prints the real defaults; a missing
# broker or database gets a one-line explanation (and, for daemons, a
# retry), not a crash or a silent hang; a permanent failure (a wrong
# password, an unknown role) ends with exit 1 and one line, never an
# endless retry.
source "$(dirname "$0")/lib.sh"

BINS=()
for f in "$SG_BIN"/sg-*; do [ -x "$f" ] && BINS+=("$(basename "$f")"); done
# Every daemon, tool and job the build installs; a glob that found nothing
# (or half) must not pass.
[ "${#BINS[@]}" -ge 12 ] || fail "only ${#BINS[@]} sg-* binaries in $SG_BIN: ${BINS[*]}"
pass "${#BINS[@]} binaries: ${BINS[*]}"
for bin in "${BINS[@]}"; do
  "$bin" --help >"$T/help.out" 2>&1 || fail "$bin --help exit status"
  grep -q "^Usage: $bin" "$T/help.out" || fail "$bin --help has no usage line"
  "$bin" -h | cmp -s - "$T/help.out" || fail "$bin -h differs from --help"
  "$bin" --version | grep -q "^$bin (StreamGuard) [0-9]" || fail "$bin --version"
  rc_of "$bin" --no-such-flag >"$T/bad.out" 2>"$T/bad.err"
  assert_eq 2 "$RC" "$bin --no-such-flag exit status"
  grep -q "Usage: $bin" "$T/bad.err" || fail "$bin: bad flag prints no usage on stderr"
  [ ! -s "$T/bad.out" ] || fail "$bin: a usage error wrote to stdout"
  rc_of "$bin" -X novalue >/dev/null 2>&1
  assert_eq 2 "$RC" "$bin -X without '=' exit status"
  rc_of "$bin" --log-level loud >/dev/null 2>&1
  assert_eq 2 "$RC" "$bin --log-level loud exit status"
done

# --help prints the defaults the code uses (one table per binary: parsing,
# ranges and help come from it), not the values given before --help.
sg-raw-store --help | grep -Eq -- '--batch-rows N +commit after N messages \(default 5000\)' || fail "sg-raw-store --help default batch"
sg-stream-metrics --help | grep -Eq -- '--batch-rows N +commit after N messages \(default 50000\)' || fail "sg-stream-metrics --help default batch"
sg-stream-metrics --batch-rows 7 --help | grep -Eq -- '--batch-rows N .*\(default 50000\)' || fail "--help shows a given value as the default"
sg-gdpr --help | grep -Eq -- '--batch-size N +requests claimed per transaction \(default 100\)' || fail "sg-gdpr --help default batch size"
sg-generate --help | grep -Eq -- '--seed S +PRNG seed; .*\(default 1\)' || fail "sg-generate --help default seed"
pass "--help shows the real defaults"

usage_error() {  # usage_error WHAT CMD...: exit 2, the message first
  rc_of "${@:2}" >"$T/usage.out" 2>"$T/usage.err"
  assert_eq 2 "$RC" "$1"
}
usage_error "sg-generate without --count/--duration" sg-generate --rate 10
usage_error "sg-generate --count -5" sg-generate --count -5
usage_error "sg-generate --invalid-ratio 1.5" sg-generate --count 10 --invalid-ratio 1.5
usage_error "sg-raw-store --on-gap maybe" sg-raw-store --on-gap maybe
usage_error "sg-broker --partitions 0" sg-broker --partitions 0
usage_error "sg-raw-store --batch-rows 0" sg-raw-store --batch-rows 0
grep -q "^sg-raw-store: --batch-rows must be 1\.\." "$T/usage.err" || fail "range error does not name the flag and its range"

# No broker anywhere: one line that says what to do, exit 1.
export SG_BROKER_FILE=$T/no-such-broker.addr
rc_of sg-generate --count 1 --dsn "dbname=nowhere host=127.0.0.1 port=1" >/dev/null 2>"$T/nobroker.err"
[ "$RC" -ne 0 ] || fail "sg-generate without any broker succeeded"
pass "sg-generate without a broker exits $RC"

# No database: the daemon says so and retries; SIGTERM ends it cleanly.
db_create
broker_start 2
PG_DSN="host=127.0.0.1 port=1 dbname=nowhere user=nobody" \
  rc_of timeout --foreground --preserve-status -s TERM 4 sg-raw-store 2>"$T/nodb.err"
grep -q "postgres unavailable, retrying" "$T/nodb.err" || fail "no retry line without a database"
[ "$(grep -c 'postgres unavailable' "$T/nodb.err")" -ge 2 ] || fail "did not retry"
assert_eq 0 "$RC" "sg-raw-store exit status after SIGTERM while waiting for the database"
pass "database outage: $(grep -c 'postgres unavailable' "$T/nodb.err") retry lines, clean exit"

# Permanent failures: a wrong password, and a role that does not exist,
# end every tool that uses PostgreSQL with exit 1 and one line that says
# what is wrong (the password itself never appears), at once.
seed_users 20
generate --count 50 --seed 3
export SG_CLI_ALERT_SECRET=cli-secret
printf '[sink x]\nurl = http://127.0.0.1:9/x\nsecret_env = SG_CLI_ALERT_SECRET\n' >"$T/cli.sinks"
declare -A ARGS=(
  [sg-seed-users]="--users 5" [sg-generate]="--count 5" [sg-raw-store]=""
  [sg-stream-metrics]="" [sg-gdpr]="--once" [sg-batch-metrics]="--all --retry-for 30"
  [sg-compare]="--all --retry-for 30" [sg-report]="daily --output-dir $T/r --retry-for 30"
  [sg-migrate]="--status" [sg-alert]="--once --sinks $T/cli.sinks"
  [sg-compliance]="--idle-exit 1 --no-publish" [sg-retention]="--retry-for 30"
  [sg-api]="--listen 127.0.0.1:0"
)
check_permanent() {  # check_permanent BIN WHAT [env...]
  local bin=$1 what=$2; shift 2
  # shellcheck disable=SC2086
  env "$@" SG_LOG_LEVEL=warn timeout 60 "$bin" ${ARGS[$bin]} >/dev/null 2>"$T/perm.err"
}
for bin in "${!ARGS[@]}"; do
  rc_of check_permanent "$bin" "wrong password" PGPASSWORD=not-the-password-4711
  [ "$RC" -ne 124 ] || fail "$bin retried a wrong password until the timeout"
  assert_eq 1 "$RC" "$bin exit status with a wrong password"
  assert_eq 1 "$(wc -l <"$T/perm.err")" "$bin: lines on stderr with a wrong password"
  grep -q "refused user sg_\(writer\|owner\)" "$T/perm.err" || { cat "$T/perm.err" >&2; fail "$bin: the line does not say what was refused"; }
  ! grep -q "not-the-password-4711" "$T/perm.err" || fail "$bin printed the password"
  rc_of check_permanent "$bin" "unknown role" PG_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_no_such_role"
  assert_eq 1 "$RC" "$bin exit status for a role without a password"
  assert_eq 1 "$(wc -l <"$T/perm.err")" "$bin: lines on stderr for an unknown role"
  grep -q "sg_no_such_role" "$T/perm.err" || { cat "$T/perm.err" >&2; fail "$bin: the line does not name the role"; }
done

# The broker's address file is removed when it stops.
if [ "$SG_TEST_BROKER" = embedded ]; then
  kill -TERM "$BROKER_PID"; wait "$BROKER_PID" || fail "sg-broker exit status on SIGTERM"
  [ ! -e "$SG_BROKER_FILE" ] || fail "sg-broker left its address file behind"
  pass "sg-broker removes its address file on exit"
fi
