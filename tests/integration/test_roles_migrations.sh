#!/usr/bin/env bash
# Least privilege and migrations: the analytics role is refused on users_pii
# (and cannot write; the writer is refused too since 013: it reads through
# the audited functions), the writer cannot change the schema, and re-running
# sg-migrate applies nothing new.
source "$(dirname "$0")/lib.sh"

db_create
seed_users 50 42
n=$(psql_q 'SELECT count(*) FROM schema_migrations')
[ "$n" -ge 1 ] || fail "no migrations recorded"
sg-migrate --dsn "$OWNER_DSN" 2>"$T/migrate2.log"
assert_eq "$n" "$(psql_q 'SELECT count(*) FROM schema_migrations')" "migrations after a second run"
grep -q "newly_applied=0" "$T/migrate2.log" || fail "second run applied something"
pass "second sg-migrate run applied nothing"

# sqlstate DSN SQL: runs SQL and prints the SQLSTATE it failed with ("ok" if none).
sqlstate() {
  if out=$(psql -X -q -w -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$1" -c "$2" 2>&1); then
    echo ok
  else
    echo "$out" | grep -o 'ERROR: *[0-9A-Z]\{5\}' | head -1 | awk '{print $2}'
  fi
}
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" 'SELECT email FROM users_pii LIMIT 1')" "analytics reading users_pii"
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" 'SELECT count(*) FROM users_pii')" "analytics counting users_pii"
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" 'SELECT count(*) FROM users_public')" "analytics reading users_public"
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" 'SELECT count(*) FROM events_raw')" "analytics reading events_raw"
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" "INSERT INTO users_public VALUES (gen_random_uuid(), 'DE', '2025-01-01')")" \
  "analytics writing users_public"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'DROP TABLE events_raw')" "writer dropping events_raw"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'DELETE FROM events_raw')" "writer deleting from events_raw"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'CREATE TABLE sneaky (x int)')" "writer creating a table"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'SELECT count(*) FROM users_pii')" "writer reading users_pii (sql/013: through pii_lookup only)"
assert_eq 42501 "$(sqlstate "$PG_DSN" "UPDATE users_pii SET city = NULL")" "writer updating users_pii"
