#!/usr/bin/env bash
# Delete-request simulation: picks a real user from users_pii (through
# pii_lookup, purpose erasure: an audited read, sql/013), shows the
# row, asks for erasure the supported way (one INSERT INTO
# privacy_requests), waits until sg-gdpr has processed the request, then
# shows the same row again, the request and its audit rows.
#
# This is a demo against your own database: it prints the user's PII
# before erasure (sg-gdpr itself never logs it).
#
# Usage: scripts/gdpr-request.sh [--email ADDRESS] [--dsn CONNINFO] [--timeout SECONDS]
#   --email ADDRESS   ask for this address instead of a random live user's
#   --dsn CONNINFO    default: $PG_DSN, else
#                     "host=localhost dbname=streamguard user=sg_writer"
#   --timeout SECONDS how long to wait for sg-gdpr (default 30)
set -euo pipefail

DSN=${PG_DSN:-"host=${PGHOST:-localhost} dbname=${PGDATABASE:-streamguard} user=sg_writer"}
EMAIL=
TIMEOUT=30
while [ $# -gt 0 ]; do
  case "$1" in
    --email) EMAIL=${2:?--email needs an address}; shift 2 ;;
    --dsn) DSN=${2:?--dsn needs a conninfo}; shift 2 ;;
    --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gdpr-request.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$TIMEOUT" in ''|*[!0-9]*) echo "gdpr-request.sh: --timeout must be a number of seconds" >&2; exit 2 ;; esac

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
# sql ARGS...: psql against the database, stopping on the first error.
sql() { psql -X -q -w -v ON_ERROR_STOP=1 "$DSN" "$@"; }
# The e-mail travels as a psql variable (:'email' quotes it as a literal).
sql_email() { sql -v email="$EMAIL" "$@"; }

# users_pii is read only through the audited functions (sql/013), with the
# purpose "erasure": each read below is a row of pii_access_log.
if [ -z "$EMAIL" ]; then
  # A user no request has erased yet, from users_public (no personal data);
  # only that one user's row is read.
  for _ in 1 2 3 4 5; do
    EMAIL=$(sql -At -c "SELECT p.email FROM pii_lookup((
                          SELECT u.user_id FROM users_public u
                           WHERE NOT EXISTS (SELECT 1 FROM privacy_requests r
                                              WHERE r.user_id = u.user_id)
                           ORDER BY random() LIMIT 1), 'erasure') p
                         WHERE p.email IS NOT NULL")
    [ -z "$EMAIL" ] || break
  done
  if [ -z "$EMAIL" ]; then
    echo "gdpr-request.sh: no user with personal data left in users_pii (run sg-seed-users)" >&2
    exit 1
  fi
fi

step "the user's row in users_pii before the request (pii_find_by_email, purpose erasure)"
sql_email -x <<<"SELECT * FROM pii_find_by_email(:'email', 'erasure')"

running=$(sql -At -c "SELECT count(*) FROM pg_stat_activity
                       WHERE application_name = 'sg-gdpr' AND datname = current_database()")
if [ "$running" = 0 ]; then
  echo "note: no sg-gdpr is connected to this database; the request will wait until one runs"
fi

step "asking to be forgotten: INSERT INTO privacy_requests (email) VALUES (...)"
ID=$(sql_email -At <<<"INSERT INTO privacy_requests (email) VALUES (:'email') RETURNING id")
echo "request id: $ID"

step "waiting for sg-gdpr (up to ${TIMEOUT} s)"
t0=$(date +%s%N)
status=pending
for _ in $(seq 1 $((TIMEOUT * 10))); do
  status=$(sql -At -c "SELECT status FROM privacy_requests WHERE id = $ID")
  [ "$status" != pending ] && break
  sleep 0.1
done
if [ "$status" = pending ]; then
  cat >&2 <<EOF
request $ID is still pending after ${TIMEOUT} s: is sg-gdpr running against this database?
Start it (build/bin/sg-gdpr, or build/bin/sg-gdpr --once to process what is
pending and exit); it will pick the request up. Nothing else is needed.
EOF
  exit 1
fi
echo "status: $status (seen after about $(( ($(date +%s%N) - t0) / 1000000 )) ms of waiting)"

step "the same row after processing"
if [ "$status" = anonymized ] || [ "$status" = already_anonymized ]; then
  sql -x -c "SELECT * FROM pii_lookup((SELECT user_id FROM privacy_requests WHERE id = $ID), 'erasure')"
else
  echo "(no user matched: status $status)"
fi

step "the request (its e-mail replaced by its SHA-256) and its audit rows"
sql -x -c "SELECT id, email, email_sha256, status, user_id, error, requested_at, processed_at,
                  round(extract(epoch FROM processed_at - requested_at) * 1000) AS ms_to_process,
                  notice_sent_at
             FROM privacy_requests WHERE id = $ID"
sql -c "SELECT id, request_id, user_id, action, affected_columns, round(processing_ms::numeric, 1) AS processing_ms, created_at
          FROM gdpr_audit_log WHERE request_id = $ID ORDER BY id"
