#!/usr/bin/env bash
# sg-test-brokers: embedded
# The dashboard (api/www/, served by sg-api at /) in a real browser:
# Debian's Chromium driven by playwright-core (tests/browser/dashboard.mjs).
# The data is known: the generator's compliance scenario through
# sg-stream-metrics and sg-compliance, then 25 more events nobody reads (a
# lag of 25 for both groups), privacy requests of known ages and a high
# flag whose subject id and evidence hold HTML, inserted as the owner. The
# API's answers (curl) are checked against those known figures, and the
# page must show exactly the API's answers: total and high flags, the
# flags drawn, pending and overdue requests, each group's lag, the latest
# high flag ids in order, countries' events. Also: the hostile strings are
# text (no element made of them, no dialog, no CSP violation), no request
# leaves localhost, a wrong token gets the login error, logout, a role
# that may not see a panel (403), a token revoked mid-session (401), the
# server stopped under an open page (every panel's error state). The
# screenshot is kept in the test's folder (dashboard.png).
# One broker lane (sg-broker): the page reads PostgreSQL through sg-api;
# the broker only gives the lag its high watermarks.
source "$(dirname "$0")/lib.sh"

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] || fail "no $CHROMIUM (scripts/setup.sh --asan installs Debian's chromium)"
[ -f "$SG_SRC/node_modules/playwright-core/package.json" ] && [ -f "$SG_SRC/node_modules/chart.js/dist/chart.umd.js" ] \
  || fail "no node_modules/ (scripts/setup.sh installs package-lock.json with npm ci)"
command -v node >/dev/null || fail "no node (scripts/setup.sh installs it)"

LAG=25
HOSTILE='<img src=x onerror=alert(1)>'
HOSTILE_FLAG=00000000-0000-4000-8000-00000000da5b
EMAIL=dash.pending@example.com

db_create
broker_start 3
seed_users 1000 42

# Known traffic: the compliance scenario (3 h ending at most 5 min ago)
# counted and evaluated; then LAG events more that no consumer reads.
generate --scenario compliance --seed 7
TOTAL=$(jq .delivered "$T/gen.json")
bg sm sg-stream-metrics --idle-exit 2; SM=$LAST_PID
bg cpl sg-compliance --idle-exit 2 --no-publish; CPL=$LAST_PID
wait_pid "$SM" 120 || { tail -5 "$T/sm.log" >&2; fail "sg-stream-metrics exit status"; }
wait_pid "$CPL" 120 || { tail -5 "$T/cpl.log" >&2; fail "sg-compliance exit status"; }
assert_eq "$TOTAL" "$(stored_sum sg-stream-metrics)" "offsets stored by sg-stream-metrics"
assert_eq "$TOTAL" "$(stored_sum sg-compliance)" "offsets stored by sg-compliance"
generate --count "$LAG" --seed 9

# Privacy requests: pending 2, 10 and 31 days (one overdue), two done.
psql_q "INSERT INTO privacy_requests (email, requested_at) VALUES
          ('$EMAIL', now() - interval '2 days'),
          ('dash.p2@example.com', now() - interval '10 days'),
          ('dash.p3@example.com', now() - interval '31 days');
        INSERT INTO privacy_requests (email, requested_at, processed_at, status) VALUES
          (NULL, now() - interval '5 days', now() - interval '4 days', 'anonymized'),
          (NULL, now() - interval '3 days', now() - interval '3 days', 'not_found')" >/dev/null
# A high flag, the latest, with HTML in its subject id and evidence.
psql -X -q -w -v ON_ERROR_STOP=1 -v h="$HOSTILE" -v id="$HOSTILE_FLAG" "$OWNER_DSN" >/dev/null <<'SQL'
INSERT INTO compliance_flags (flag_id, rule, rule_version, severity, subject_type, subject_id,
                              window_start, window_end, event_count, observed, threshold, evidence)
VALUES (:'id', 'multi_country', 'test', 'high', 'user', :'h', now(), now(), 1, 4, 3,
        jsonb_build_object('note', :'h', 'countries', jsonb_build_array('DE', 'FR', 'US', 'BR')));
SQL

# An analyst's and a privacy officer's tokens, made before sg-api starts
# (it loads the tokens before it listens: no failed attempt, which its
# per-address limit would count, while waiting for its cache), then sg-api
# on a free port.
sg-api token create --role analyst --name dash-analyst --dsn "$OWNER_DSN" >"$T/analyst.token" 2>>"$T/token.log" \
  || fail "sg-api token create (analyst)"
sg-api token create --role privacy --name dash-privacy --dsn "$OWNER_DSN" >"$T/privacy.token" 2>>"$T/token.log" \
  || fail "sg-api token create (privacy)"
chmod 600 "$T"/*.token
API_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_api"
bg api sg-api --listen 127.0.0.1:0 --brokers "$BROKERS" --dsn "$API_DSN"; API=$LAST_PID
listening() {
  kill -0 "$API" 2>/dev/null || { tail -5 "$T/api.log" >&2; fail "sg-api exited at start"; }
  grep -q ' sg-api listening addr=' "$T/api.log"
}
wait_until 30 listening || { tail -5 "$T/api.log" >&2; fail "sg-api did not say where it listens"; }
URL=http://$(sed -n 's/.* sg-api listening addr=\([^ ]*\).*/\1/p' "$T/api.log" | head -1)
curl -fso /dev/null "$URL/healthz" || fail "GET $URL/healthz"

# What the API answers (the page must show the same).
get() {
  curl -fsS -H "Authorization: Bearer $(cat "$T/analyst.token")" "$URL$1" >"$T/$2.json" \
    || fail "GET $1"
}
TO=$(date -u +%F); FROM=$(date -u -d '6 days ago' +%F)
get /auth/whoami whoami
get "/compliance/summary?from=$FROM&to=$TO" summary
get /compliance/regions?from=$FROM\&to=$TO regions
get /stats/pipeline pipeline
get /stats/timeseries?minutes=60 timeseries
get /privacy-requests/summary privacy
get '/compliance/flags?severity=high&limit=10' highflags

# ... and what it answers is the known data.
in_range="window_start >= '$FROM' AND window_start < date '$TO' + 1"
assert_eq "$(psql_q "SELECT count(*) FROM compliance_flags WHERE $in_range")" \
  "$(jq .total "$T/summary.json")" "API: total flags of the last 7 days"
HIGH=$(psql_q "SELECT count(*) FROM compliance_flags WHERE severity = 'high' AND $in_range")
[ "$HIGH" -ge 2 ] || fail "the scenario raised fewer than 2 high flags ($HIGH)"
assert_eq "$HIGH" "$(jq '[.by_rule[] | select(.severity == "high") | .flags] | add // 0' "$T/summary.json")" \
  "API: high flags of the last 7 days"
assert_eq "3 1" "$(jq -r '"\(.pending) \(.overdue)"' "$T/privacy.json")" "API: pending and overdue privacy requests"
assert_eq "$LAG $LAG" "$(jq -r '[.consumers[] | select(.group == "sg-stream-metrics" or .group == "sg-compliance") | .lag]
                                | map(tostring) | join(" ")' "$T/pipeline.json")" \
  "API: lag of sg-compliance and sg-stream-metrics"
assert_eq "$HOSTILE_FLAG" "$(jq -r '.items[0].flag_id' "$T/highflags.json")" "API: the latest high flag"
assert_eq 60 "$(jq '.minutes | length' "$T/timeseries.json")" "API: minutes of the time series"

jq -n \
  --slurpfile who "$T/whoami.json" --slurpfile sum "$T/summary.json" --slurpfile reg "$T/regions.json" \
  --slurpfile pipe "$T/pipeline.json" --slurpfile ts "$T/timeseries.json" --slurpfile priv "$T/privacy.json" \
  --slurpfile hf "$T/highflags.json" --arg hostile "$HOSTILE" --arg secret "$EMAIL" '{
    whoami: $who[0],
    flags_total: $sum[0].total,
    flags_high: ([$sum[0].by_rule[] | select(.severity == "high") | .flags] | add // 0),
    flags_by_day_sum: ([$sum[0].by_day[].flags] | add // 0),
    privacy_pending: $priv[0].pending, privacy_overdue: $priv[0].overdue,
    lag: ([$pipe[0].consumers[] | select(.lag != null) | {key: .group, value: .lag}] | from_entries),
    lambda_date: $pipe[0].lambda.date,
    country_events: ([$reg[0].countries | sort_by(-.events) | .[:3][] | {key: .country, value: .events}] | from_entries),
    timeseries_points: ($ts[0].minutes | length),
    high_flag_ids: [$hf[0].items[].flag_id],
    hostile: $hostile, secret: $secret}' >"$T/expect.json"

# The page, in Chromium.
rc_of node "$SG_SRC/tests/browser/dashboard.mjs" --url "$URL" --token-file "$T/analyst.token" \
  --expect "$T/expect.json" --out "$T" --privacy-token-file "$T/privacy.token" \
  --revoke-cmd "sg-api token revoke --name dash-privacy --dsn '$OWNER_DSN' >/dev/null" \
  --stop-cmd "kill -TERM $API" >"$T/browser.out" 2>"$T/browser.log"
cat "$T/browser.out" >&2
[ "$RC" -eq 0 ] || { cat "$T/browser.log" >&2; fail "the dashboard in Chromium (screenshot: $T/failure.png)"; }
pass "the dashboard in Chromium: $(grep -c '^ok:' "$T/browser.out") checks (screenshot: $T/dashboard.png)"

# The refused requests are in the access log as the contract says:
# the wrong token's 401 on /auth/whoami.
[ "$(psql_q "SELECT count(*) FROM api_access_log WHERE status = 401 AND route = '/auth/whoami'")" -ge 1 ] \
  || fail "no 401 of the wrong token in api_access_log"
pass "the wrong token's 401 is in api_access_log"
# (The browser test stopped sg-api with SIGTERM.)
wait_pid "$API" 20 || fail "sg-api exit status (SIGTERM)"
pass "sg-api stopped on SIGTERM"
