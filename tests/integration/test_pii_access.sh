#!/usr/bin/env bash
# sg-test-brokers: embedded
# Audited access to personal data (sql/013_pii_access.sql) and the right of
# access: no role but the owner reads users_pii directly (42501, and the
# refusal is in the server's CSV log); a purposeful pii_lookup returns the
# row and leaves a pii_access_log row with role and purpose; a missing or
# unknown purpose is refused; sg_analytics cannot execute the functions; a
# temporary table cannot divert the access log; sg-report access-audit
# (golden file on a fixed fixture, refused attempts checked on the live
# log); an access request exported by sg-gdpr (exactly the user's rows,
# mode 600 whatever the umask, sha256sum -c, nothing of it in any log); an
# erasure deletes the earlier export; an erased user's export holds
# nothing personal; pg_dump holds nothing of the erased user.
source "$(dirname "$0")/lib.sh"

GOLDEN=$SG_SRC/tests/integration/golden
T0=$(date -u '+%F %T')   # server-log records of this run: from now on
db_create
seed_users 40 42

sqlstate() { # sqlstate DSN SQL: the SQLSTATE SQL fails with ("ok" if none)
  if out=$(psql -X -q -w -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$1" -c "$2" 2>&1); then
    echo ok
  else
    echo "$out" | grep -o 'ERROR: *[0-9A-Z]\{5\}' | head -1 | awk '{print $2}'
  fi
}
as_writer() { psql -X -q -w -At -v ON_ERROR_STOP=1 "$PG_DSN" "$@"; }
log_count() { psql_q "SELECT count(*) FROM pii_access_log"; }

# The user whose data we follow, with unmistakable PII of our own.
U=5a1e0000-0000-4000-8000-00000000c0de
V=5a1e0000-0000-4000-8000-00000000beef
EMAIL=quintessa.access-me@example.test
FIRST=Quintessa
LAST=Vandersloot
psql_q "INSERT INTO users_pii (user_id, email, first_name, last_name, street_address, city, postal_code, country)
        VALUES ('$U', '$EMAIL', '$FIRST', '$LAST', '12 Zinnober Lane', 'Quarzburg', '99999', 'DE'),
               ('$V', 'other.person@example.test', 'Otto', 'Other', '1 Main St', 'Elsewhere', '11111', 'FR');
        INSERT INTO users_public (user_id, country, signup_date)
        VALUES ('$U', 'DE', '2026-01-01'), ('$V', 'FR', '2026-01-01')"

# --- 1. direct access: refused for every role but the owner ----------------
assert_eq 42501 "$(sqlstate "$PG_DSN" 'SELECT email FROM users_pii LIMIT 1')" "sg_writer SELECT on users_pii"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'SELECT count(*) FROM users_pii')" "sg_writer count(*) on users_pii"
assert_eq 42501 "$(sqlstate "$PG_DSN" "UPDATE users_pii SET city = NULL")" "sg_writer UPDATE on users_pii"
assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" 'SELECT email FROM users_pii LIMIT 1')" "sg_analytics SELECT on users_pii"
assert_eq "sg_auditor,sg_owner" "$(psql_q "SELECT string_agg(DISTINCT grantee, ',' ORDER BY grantee)
    FROM information_schema.role_table_grants
   WHERE table_name = 'users_pii' AND privilege_type IN ('SELECT', 'UPDATE')")" \
  "roles holding SELECT or UPDATE on users_pii"
assert_eq "f|0" "$(psql_q "SELECT r.rolcanlogin, (SELECT count(*) FROM pg_auth_members m WHERE m.roleid = r.oid)
    FROM pg_roles r WHERE r.rolname = 'sg_auditor'")" "sg_auditor (pgaudit's role) cannot log in and has no members"
assert_eq "" "$(psql_q "SELECT string_agg(p.proname, ',') FROM pg_proc p
   WHERE p.proname LIKE 'pii\_%' AND p.prosecdef
     AND (p.proowner <> 'sg_owner'::regrole
          OR NOT coalesce(p.proconfig, '{}') @> '{\"search_path=pg_catalog, public, pg_temp\"}'
          OR has_function_privilege('sg_analytics', p.oid, 'EXECUTE')
          OR has_function_privilege('public', p.oid, 'EXECUTE'))")" \
  "SECURITY DEFINER functions not owned by sg_owner, without the pinned search_path, or executable by sg_analytics or PUBLIC"

# --- 2. purposeful access ---------------------------------------------------
before=$(log_count)
before_id=$(psql_q "SELECT coalesce(max(id), 0) FROM pii_access_log")
assert_eq "$EMAIL|$LAST" "$(as_writer -c "SELECT email || '|' || last_name FROM pii_lookup('$U', 'support')")" \
  "pii_lookup as sg_writer, purpose support"
assert_eq "1|sg_writer|support|$U|t" "$(psql_q "SELECT count(*) OVER (), db_role, purpose, user_id, 'email' = ANY (columns)
    FROM pii_access_log WHERE id > $before_id")" "the lookup's access-log row (one, role, purpose, user, columns)"
assert_eq 42501 "$(sqlstate "$PG_DSN" "SELECT * FROM pii_lookup('$U', NULL)")" "pii_lookup without a purpose"
assert_eq 42501 "$(sqlstate "$PG_DSN" "SELECT * FROM pii_lookup('$U', 'curiosity')")" "pii_lookup with a purpose not in the list"
assert_eq 42501 "$(sqlstate "$PG_DSN" "SELECT * FROM pii_find_by_email('x@example.test', '')")" "pii_find_by_email with an empty purpose"
assert_eq 42501 "$(sqlstate "$PG_DSN" "SELECT pii_lock_requests('{1}', 'support')")" "pii_lock_requests with a purpose other than erasure"
assert_eq $((before + 1)) "$(log_count)" "access-log rows after the refused lookups (none added)"
for fn in "pii_lookup('$U', 'support')" "pii_find_by_email('x@example.test', 'support')" \
          "pii_request_subjects(1, 'access_export')" "pii_erase_requests('{1}', now(), 'erasure')"; do
  assert_eq 42501 "$(sqlstate "$ANALYTICS_DSN" "SELECT * FROM $fn")" "sg_analytics executing ${fn%%(*}"
done
assert_eq ok "$(sqlstate "$ANALYTICS_DSN" 'SELECT count(*) FROM pii_access_log')" "sg_analytics reading pii_access_log"
assert_eq 42501 "$(sqlstate "$PG_DSN" 'DELETE FROM pii_access_log')" "sg_writer deleting the access log"
# A temporary table named like the log must not catch the function's row.
n0=$(log_count)
as_writer >/dev/null <<SQL
CREATE TEMP TABLE pii_access_log (id bigint, accessed_at timestamptz, db_role text, purpose text, user_id uuid, columns text[]);
SELECT email FROM pii_find_by_email('  ${EMAIL^^} ', 'support');
SQL
assert_eq $((n0 + 1)) "$(log_count)" "a lookup beside a temp table named pii_access_log is logged in the real one"

# --- 3. refused attempts in the server log (and pgaudit) --------------------
SERVER_LOG=""
if [ "$(id -u)" -eq 0 ]; then
  SERVER_LOG=$(runuser -u postgres -- psql -X -At -p "${PGPORT:-5432}" -d postgres \
      -c "SELECT CASE WHEN current_setting('log_destination') ~ 'csvlog' THEN current_setting('log_directory') END" 2>/dev/null || true)
  PGAUDIT=$(runuser -u postgres -- psql -X -At -p "${PGPORT:-5432}" -d postgres -c "SHOW shared_preload_libraries" 2>/dev/null || true)
fi
# our_log: the server log's records of this database since T0 (a record
# may span lines: a quoted statement keeps its newlines).
our_log() {
  cat "$SERVER_LOG"/*.csv 2>/dev/null | awk -v t="$T0" -v db=",\"$TEST_DB\"," '
    /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:.]+ [A-Z]+,/ { keep = substr($0, 1, 19) >= t && index($0, db) > 0 }
    keep'
}
in_log() { # in_log ROLE TEXT: a record of this run, this role, holding TEXT
  # No grep -q: with pipefail, an early exit would fail the pipeline.
  our_log | grep -F "\"$1\",\"$TEST_DB\"," | grep -F -- "$2" >/dev/null
}
if [ -n "$SERVER_LOG" ] && [ "${SERVER_LOG:0:1}" = / ]; then
  wait_until 10 in_log sg_writer '42501,"permission denied for table users_pii"' \
    || fail "the server log has no 42501 of sg_writer on users_pii"
  wait_until 10 in_log sg_analytics '42501,"permission denied for table users_pii"' \
    || fail "the server log has no 42501 of sg_analytics on users_pii"
  wait_until 10 in_log sg_analytics '42501,"permission denied for function pii_lookup"' \
    || fail "the server log has no 42501 of sg_analytics on pii_lookup"
  wait_until 10 in_log sg_writer '42501,"permission denied for function pii_lookup"' \
    || fail "the server log has no 42501 for the lookup without a purpose"
  pass "refused attempts are in the server's CSV log ($SERVER_LOG)"
  if [[ ",$PGAUDIT," == *,pgaudit,* ]]; then
    wait_until 10 in_log sg_writer 'AUDIT: SESSION,' || fail "no pgaudit line for sg_writer"
    in_log sg_writer ',FUNCTION,EXECUTE,FUNCTION,public.pii_lookup,' || fail "pgaudit did not log sg_writer's call of pii_lookup"
    in_log sg_owner 'AUDIT: OBJECT,' || fail "no pgaudit OBJECT line for the owner's direct INSERT"
    in_log sg_owner ',WRITE,INSERT,TABLE,public.users_pii,' || fail "pgaudit's OBJECT line does not name public.users_pii"
    pass "pgaudit logged the calls of pii_lookup and the owner's direct access to users_pii"
  else
    log "pgaudit is not preloaded on this cluster: its lines are not checked"
  fi
else
  log "the server's CSV log is not readable here (not root, or no csvlog): its checks are skipped"
fi

# --- 4. access export --------------------------------------------------------
# Events of U (one with a metadata value that needs CSV quoting) and of V.
psql_q "INSERT INTO events_raw (event_id, user_id, event_type, event_timestamp, event_date, country, is_eu,
                                amount, currency, metadata, kafka_topic, kafka_partition, kafka_offset)
        VALUES ('11111111-0000-4000-8000-000000000001', '$U', 'page_view', '2026-01-10 08:00:00+00', '2026-01-10', 'DE', true,
                0, 'EUR', '{\"q\": \"a, \\\"quoted\\\" value\"}', 'user_events', 0, 1),
               ('11111111-0000-4000-8000-000000000002', '$U', 'purchase', '2026-01-10 09:30:00+00', '2026-01-10', 'DE', true,
                19.99, 'EUR', NULL, 'user_events', 0, 2),
               ('11111111-0000-4000-8000-000000000003', '$U', 'play', '2026-01-11 10:00:00+00', '2026-01-11', 'DE', true,
                0, 'EUR', NULL, 'user_events', 0, 3),
               ('11111111-0000-4000-8000-000000000004', '$V', 'purchase', '2026-01-10 09:31:00+00', '2026-01-10', 'FR', true,
                5.00, 'EUR', NULL, 'user_events', 1, 1);
        INSERT INTO compliance_flags (flag_id, rule, rule_version, severity, subject_type, subject_id, window_start,
                                      window_end, event_count, observed, threshold, evidence)
        VALUES ('22222222-0000-4000-8000-000000000001', 'no_consent_purchase', 'v1', 'high', 'user', '$U',
                '2026-01-10 09:00:00+00', '2026-01-10 09:59:59+00', 1, 1, 0, '{\"events\": 1}'),
               ('22222222-0000-4000-8000-000000000002', 'no_consent_purchase', 'v1', 'high', 'user', '$V',
                '2026-01-10 09:00:00+00', '2026-01-10 09:59:59+00', 1, 1, 0, '{\"events\": 1}')"
EXP=$T/exports
access_request() { as_writer -v e="$1" <<<"INSERT INTO privacy_requests (email, kind) VALUES (:'e', 'access') RETURNING id"; }
gdpr_once() { # umask 000: the files must still be 600
  (umask 000; sg-gdpr --once --no-notices --export-dir "$EXP" >>"$T/gdpr.out" 2>>"$T/gdpr.log") || fail "sg-gdpr --once"
}
A1=$(access_request "  ${EMAIL^^} ")
gdpr_once
assert_eq "exported|$U|t|t" "$(psql_q "SELECT status, user_id, email IS NULL, processed_at IS NOT NULL FROM privacy_requests WHERE id = $A1")" \
  "access request: status, user, e-mail hashed, processed_at"
for f in "access_$A1.json" "access_${A1}_events.csv" "access_$A1.sha256"; do
  [ -f "$EXP/$f" ] || fail "no $f"
  assert_eq 600 "$(stat -c %a "$EXP/$f")" "mode of $f (sg-gdpr ran with umask 000)"
done
assert_eq 700 "$(stat -c %a "$EXP")" "mode of the export folder it created"
(cd "$EXP" && sha256sum -c --quiet "access_$A1.sha256") || fail "sha256sum -c access_$A1.sha256"
pass "the checksum file verifies with sha256sum -c"
# The CSV is exactly what the owner's COPY of U's events gives.
PGTZ=UTC psql -X -q -w "$OWNER_DSN" \
  -c "\\copy (SELECT * FROM events_raw WHERE user_id = '$U' ORDER BY event_timestamp, event_id) TO '$T/expected_events.csv' CSV HEADER"
cmp "$T/expected_events.csv" "$EXP/access_${A1}_events.csv" || fail "the events CSV differs from the owner's COPY of the user's rows"
pass "events CSV = the owner's COPY of exactly the user's rows (3)"
J=$EXP/access_$A1.json
jq -e . "$J" >/dev/null || fail "the document is not JSON"
assert_eq "1|$U|$EMAIL|$FIRST|12 Zinnober Lane|false" \
  "$(jq -r '[(.users|length), .users[0].user_id, .users[0].personal_data.email, .users[0].personal_data.first_name,
             .users[0].personal_data.street_address, .users[0].erased] | join("|")' "$J")" "document: the user and their personal data"
assert_eq "3|access_${A1}_events.csv|1|22222222-0000-4000-8000-000000000001|$A1" \
  "$(jq -r '[.users[0].events.rows, .users[0].events.file, (.users[0].compliance_flags|length),
             .users[0].compliance_flags[0].flag_id, (.users[0].privacy_requests|map(.id)|join(","))] | join("|")' "$J")" \
  "document: events, compliance flags and requests of the user"
assert_eq "$(psql_q "SELECT count(*) FROM events_raw WHERE user_id = '$U'")|$(psql_q "SELECT count(*) FROM compliance_flags WHERE subject_type = 'user' AND subject_id = '$U'")" \
  "$(jq -r '"\(.users[0].events.rows)|\(.users[0].compliance_flags|length)"' "$J")" "document counts = the owner's counts"
want_consent=absent
[ -z "$(psql_q "SELECT to_regclass('public.consent_log')")" ] || want_consent=included
assert_eq "$want_consent" "$(jq -r .consent_log "$J")" "document: consent history (consent_log $want_consent)"
if grep -rqF -e "$V" -e "other.person@example.test" -e "Otto" "$EXP"; then fail "another user's data in the export"; fi
pass "nothing of another user in the export"
assert_eq "access_export|$U|{access_$A1.json,access_${A1}_events.csv,access_$A1.sha256}|$(sha256sum "$J" | cut -d' ' -f1)" \
  "$(psql_q "SELECT action, user_id, files, files_sha256[1] FROM gdpr_audit_log WHERE request_id = $A1")" \
  "audit row: action, user, file names, the document's checksum"
assert_eq "1" "$(psql_q "SELECT count(*) FROM pii_access_log WHERE purpose = 'access_export' AND user_id = '$U' AND db_role = 'sg_writer'")" \
  "the export's read is in pii_access_log (purpose access_export, sg_writer)"
A0=$(access_request "nobody.at.all@example.test")
gdpr_once
assert_eq "not_found|0" "$(psql_q "SELECT status, (SELECT count(*) FROM gdpr_audit_log WHERE request_id = $A0 AND files IS NOT NULL) FROM privacy_requests WHERE id = $A0")" \
  "access request for an unknown address: not_found, no files"
[ ! -e "$EXP/access_$A0.json" ] || fail "a file for a request that matched nobody"

# --- 5. erasure deletes the export; the erased user's export ----------------
as_writer -v e="$EMAIL" <<<"INSERT INTO privacy_requests (email) VALUES (:'e')" >/dev/null
gdpr_once
assert_eq anonymized "$(psql_q "SELECT status FROM privacy_requests WHERE kind = 'erasure' AND user_id = '$U'")" "erasure of the exported user"
for f in "access_$A1.json" "access_${A1}_events.csv" "access_$A1.sha256"; do
  [ ! -e "$EXP/$f" ] || fail "$f still there after the user's erasure"
done
assert_eq "export_deleted|{access_$A1.json,access_$A1.sha256,access_${A1}_events.csv}" \
  "$(psql_q "SELECT action, files FROM gdpr_audit_log WHERE action = 'export_deleted' AND user_id = '$U'")" "audit row of the deleted export"
A2=$(access_request "$EMAIL")
gdpr_once
assert_eq "exported|$U" "$(psql_q "SELECT status, user_id FROM privacy_requests WHERE id = $A2")" "access request for the erased user"
J2=$EXP/access_$A2.json
assert_eq "true|null|null|null|3|DE" "$(jq -r '[.users[0].erased, .users[0].personal_data.email, .users[0].personal_data.first_name,
    .users[0].personal_data.last_name, .users[0].events.rows, .users[0].personal_data.country] | map(tostring) | join("|")' "$J2")" \
  "erased user's document: erased, no personal data, what remains"
jq -e '.note | test("no personal data")' "$J2" >/dev/null || fail "the erased user's document does not say it holds no personal data"
if grep -rqiF -e "$EMAIL" -e "$FIRST" -e "$LAST" -e "Zinnober" -e "Quarzburg" "$EXP"; then fail "personal data in the erased user's export"; fi
pass "the erased user's export says so and holds nothing personal"

# --- 6. nothing of the exported content in any log, nor in a dump ----------
for pat in "$EMAIL" "$FIRST" "$LAST" "Zinnober" "Quarzburg"; do
  if grep -rqiF -- "$pat" "$T"/*.log "$T"/*.out; then fail "'$pat' in a log of sg-gdpr"; fi
  if [ -n "$SERVER_LOG" ] && [ "${SERVER_LOG:0:1}" = / ] &&
     our_log | grep -iF -- "$pat" >/dev/null; then
    fail "'$pat' in the server log"
  fi
done
pass "no e-mail, name or address of the user in sg-gdpr's logs${SERVER_LOG:+ or the server log}"
pg_dump -w "$OWNER_DSN" >"$T/dump.sql" || fail "pg_dump"
for pat in "$EMAIL" "$FIRST" "$LAST" "Zinnober"; do
  if grep -qiF -- "$pat" "$T/dump.sql"; then fail "'$pat' in pg_dump after erasure"; fi
done
pass "pg_dump holds nothing of the erased user"

# --- 7. sg-report access-audit ----------------------------------------------
# The table part on a fixed fixture date; the log part on a fixed CSV log
# file (times are fixed there), then on the live log for today.
psql_q "INSERT INTO pii_access_log (accessed_at, db_role, purpose, user_id, columns) VALUES
  ('2026-01-15 08:00:00+00', 'sg_writer', 'erasure', '00000000-0000-4000-8000-0000000000a1', '{email,first_name}'),
  ('2026-01-15 08:00:01+00', 'sg_writer', 'erasure', '00000000-0000-4000-8000-0000000000a2', '{email}'),
  ('2026-01-15 09:00:00+00', 'sg_writer', 'access_export', '00000000-0000-4000-8000-0000000000a1', '{email}'),
  ('2026-01-15 10:00:00+00', 'sg_writer', 'support', NULL, '{email}'),
  ('2026-01-15 23:59:59.999+00', 'sg_owner', 'support', '00000000-0000-4000-8000-0000000000a3', '{email}'),
  ('2026-01-16 00:00:00+00', 'sg_writer', 'support', '00000000-0000-4000-8000-0000000000a4', '{email}'),
  ('2026-01-13 12:00:00+00', 'sg_writer', 'erasure', '00000000-0000-4000-8000-0000000000a5', '{email}')"
# The HTTP API's access log: its 401 and 403 of the date are refused
# attempts too; a 200 and another day's 401 are not.
psql_q "INSERT INTO api_access_log (at, token_name, role, method, route, status, duration_ms) VALUES
  ('2026-01-15 06:59:59.500+00', NULL, NULL, 'GET', '/stats/summary', 401, 0.2),
  ('2026-01-15 08:30:00.250+00', 'dash-ingest', 'ingest', 'GET', '/compliance/flags/{flag_id}', 403, 0.3),
  ('2026-01-15 08:31:00+00', 'dash', 'analyst', 'GET', '/stats/summary', 200, 4.1),
  ('2026-01-15 09:00:00+00', NULL, NULL, 'GET', NULL, 404, 0.1),
  ('2026-01-16 00:00:00.001+00', NULL, NULL, 'POST', '/events', 401, 0.2)"
mkdir -p "$T/serverlog"
cat >"$T/serverlog/postgresql-15-main-2026-01-15.csv" <<CSV
2026-01-15 07:00:00.100 UTC,"sg_analytics","$TEST_DB",101,"127.0.0.1:5000",6b0b0001.65,1,"SELECT",2026-01-15 07:00:00 UTC,3/1,0,ERROR,42501,"permission denied for table users_pii",,,,,,"SELECT email FROM users_pii
 WHERE true",8,,"psql","client backend",,0
2026-01-15 07:00:01.200 UTC,"sg_analytics","$TEST_DB",101,"127.0.0.1:5000",6b0b0001.65,2,"SELECT",2026-01-15 07:00:00 UTC,3/2,0,ERROR,42501,"permission denied for function pii_lookup",,,,,,"SELECT * FROM pii_lookup('00000000-0000-4000-8000-0000000000a1', 'support')",15,,"psql","client backend",,0
2026-01-15 07:00:02.300 UTC,"sg_writer","$TEST_DB",102,"127.0.0.1:5001",6b0b0002.66,1,"SELECT",2026-01-15 07:00:02 UTC,4/1,0,ERROR,42501,"permission denied for function pii_lookup",,"the purpose must be one of pii_purposes",,,,"SELECT * FROM pii_lookup(\$1, \$2)",,,"sg-x","client backend",,0
2026-01-15 07:00:03.000 UTC,"sg_writer","$TEST_DB",102,"127.0.0.1:5001",6b0b0002.66,2,"SELECT",2026-01-15 07:00:02 UTC,4/2,0,LOG,00000,"AUDIT: OBJECT,1,2,READ,SELECT,TABLE,public.users_pii,""SELECT * FROM users_pii u WHERE u.user_id = p_user"",<not logged>",,,,,,,,,"sg-x","client backend",,0
2026-01-15 07:00:04.000 UTC,"sg_writer","$TEST_DB",102,"127.0.0.1:5001",6b0b0002.66,3,"UPDATE",2026-01-15 07:00:02 UTC,4/3,0,LOG,00000,"AUDIT: OBJECT,2,2,WRITE,UPDATE,TABLE,public.users_pii,""UPDATE users_pii u SET email = NULL"",<not logged>",,,,,,,,,"sg-gdpr","client backend",,0
2026-01-15 07:00:06.000 UTC,"sg_writer","$TEST_DB",102,"127.0.0.1:5001",6b0b0002.66,4,"SELECT",2026-01-15 07:00:02 UTC,4/4,0,LOG,00000,"AUDIT: SESSION,3,1,FUNCTION,EXECUTE,FUNCTION,public.pii_lookup,<none>,<not logged>",,,,,,,,,"sg-gdpr","client backend",,0
2026-01-15 07:00:07.000 UTC,"sg_owner","$TEST_DB",105,"127.0.0.1:5004",6b0b0005.69,1,"SELECT",2026-01-15 07:00:07 UTC,7/1,0,LOG,00000,"AUDIT: OBJECT,1,1,READ,SELECT,TABLE,public.users_pii,<none>,<not logged>",,,,,,,,,"psql","client backend",,0
2026-01-15 07:00:05.000 UTC,"sg_analytics","otherdb",103,"127.0.0.1:5002",6b0b0003.67,1,"SELECT",2026-01-15 07:00:05 UTC,5/1,0,ERROR,42501,"permission denied for table users_pii",,,,,,"SELECT 1 FROM users_pii",,,"psql","client backend",,0
2026-01-16 00:00:00.001 UTC,"sg_writer","$TEST_DB",104,"127.0.0.1:5003",6b0b0004.68,1,"SELECT",2026-01-16 00:00:00 UTC,6/1,0,ERROR,42501,"permission denied for table users_pii",,,,,,"SELECT 1 FROM users_pii",,,"psql","client backend",,0
CSV
rc_of sg-report access-audit --date 2026-01-15 --server-log "$T/serverlog" --output-dir "$T/reports" --dsn "$ANALYTICS_DSN" \
  >"$T/report.out" 2>"$T/report.log"
assert_eq 0 "$RC" "sg-report access-audit exit status (as sg_analytics)"
R=$T/reports/access_audit_2026-01-15.md
# The report names its database: the golden file has the default name
# (SG_TEST_DB_PREFIX may have changed it).
as_golden() { grep -v '^Generated at ' "$R" | sed "s/\b$TEST_DB\b/sgit_pii_access/g"; }
if [ -n "${SG_UPDATE_GOLDEN:-}" ]; then as_golden >"$GOLDEN/access_audit_2026-01-15.md"; log "updated the golden file"; fi
diff -u "$GOLDEN/access_audit_2026-01-15.md" <(as_golden) >"$T/report.diff" || { cat "$T/report.diff" >&2; fail "access_audit_2026-01-15.md differs from its golden file"; }
pass "access_audit_2026-01-15.md matches its golden file"
grep -q "Refused attempts: 3" "$T/report.out" || fail "summary: 3 refused attempts expected"
grep -q "Refused API requests: 2" "$T/report.out" || fail "summary: 2 refused API requests expected"
if grep -q '@' "$R"; then fail "an '@' in the access audit"; fi
# Deterministic: a second run gives the same bytes but for Generated at.
sg-report access-audit --date 2026-01-15 --server-log "$T/serverlog" --output-dir "$T/reports2" --dsn "$ANALYTICS_DSN" >/dev/null 2>&1
diff <(grep -v '^Generated at ' "$R") <(grep -v '^Generated at ' "$T/reports2/access_audit_2026-01-15.md") >/dev/null \
  || fail "two runs differ"
pass "two runs give the same report"
# No server log: one line says so, the table part is still there.
sg-report access-audit --date 2026-01-15 --server-log "$T/no-such-log" --output-dir "$T/reports3" >/dev/null 2>&1 || fail "report without a server log"
assert_eq 1 "$(grep -c '^\*\*Not covered:\*\* cannot read the server log' "$T/reports3/access_audit_2026-01-15.md")" "one line when the server log is absent"
grep -qE '^\| `sg_writer` +\| `erasure` +\| +2 \| +2 \|$' "$T/reports3/access_audit_2026-01-15.md" || fail "the table part without a server log"
grep -qE '^\| 08:30:00.250 +\| 403 +\| `dash-ingest` \| `ingest` \| `GET /compliance/flags/\{flag_id\}` \|$' "$T/reports3/access_audit_2026-01-15.md" \
  || fail "the API's refusals without a server log"
pass "without a server log the report covers the table and says so in one line"
# Today, on the live server log: the refusals of section 1 and 2 are listed.
if [ -n "$SERVER_LOG" ] && [ "${SERVER_LOG:0:1}" = / ]; then
  today=$(date -u +%F)
  sg-report access-audit --date "$today" --server-log "$SERVER_LOG" --output-dir "$T/reports" >"$T/report-today.out" 2>>"$T/report.log" \
    || fail "sg-report access-audit today"
  RT=$T/reports/access_audit_$today.md
  grep -qE '^\| [0-9:.]+ +\| `sg_writer` +\| table users\\_pii' "$RT" || fail "today's report: sg_writer's refusal on users_pii"
  grep -qE '^\| [0-9:.]+ +\| `sg_analytics` +\| table users\\_pii' "$RT" || fail "today's report: sg_analytics's refusal on users_pii"
  grep -qE '^\| [0-9:.]+ +\| `sg_analytics` +\| function pii\\_lookup' "$RT" || fail "today's report: sg_analytics's refusal on pii_lookup"
  grep -qE '^\| `sg_writer` +\| `support` +\| +[0-9]+ \| +1 \|' "$RT" || fail "today's report: sg_writer's support lookups"
  pass "today's access audit lists the purposeful lookups and the refused attempts from the live log"
fi
