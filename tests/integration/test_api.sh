#!/usr/bin/env bash
# sg-test-brokers: kafka
# sg-api over HTTP (docs/api.md), real binaries, curl, a real Apache Kafka
# and sg-raw-store behind it: every route's answer and refusal shapes, each
# role allowed and refused, unknown and revoked tokens, the failed-auth
# limit, bounds (413 body and batch, 415, a 20 KiB header, a client that
# stalls mid-request), hostile bodies (the fuzz corpus and worse) and
# SQL-ish path parameters, static files and traversal, TLS; POST /events:
# masking before Kafka, all or nothing per request, 202 only for what the
# broker acknowledged (every such event ends in events_raw), 503 with the
# broker stopped; privacy requests whose e-mail appears in no answer, log
# or access-log row, and a server role that cannot read it back; the route
# table and /openapi.json list the same routes; the access log holds
# templates only and every request, flushed at SIGTERM.
source "$(dirname "$0")/lib.sh"

db_create
broker_start 3
OWNER="host=$PGHOST_TEST dbname=$TEST_DB user=sg_owner"
API_DSN="host=$PGHOST_TEST dbname=$TEST_DB user=sg_api"
EMAIL="api.privacy.probe.4711@example.test"
UID1=5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d
mkdir -p "$T/ans" "$T/www"
: >"$T/accepted"; : >"$T/maybe"

# --- tokens ------------------------------------------------------------------
tok() { sg-api token create --dsn "$OWNER" --role "$1" --name "$2" 2>>"$T/token.log"; }
ING=$(tok ingest ing); ANA=$(tok analyst ana); PRI=$(tok privacy pri); ADM=$(tok admin adm); REV=$(tok analyst rev)
[[ $ING =~ ^sgt_[A-Za-z0-9_-]{43}$ ]] || fail "token shape: '$ING'"
pass "token create prints sgt_ + 43 URL-safe base64 characters"
assert_eq 0 "$(psql_q "SELECT count(*) FROM api_tokens WHERE encode(token_sha256, 'hex') <> encode(sha256('$ING'::bytea), 'hex') AND name = 'ing'")" \
  "api_tokens holds the token's SHA-256"
! psql_q "SELECT * FROM api_tokens" | grep -qF "$ING" || fail "the token itself is stored"
rc_of sg-api token create --dsn "$OWNER" --role analyst --name ana >/dev/null 2>>"$T/token.log"
assert_eq 1 "$RC" "a second token in force with the same name is refused"
rc_of sg-api token create --dsn "$OWNER" --role root --name x >/dev/null 2>>"$T/token.log"
assert_eq 2 "$RC" "token create --role root is a usage error"

# --- the server --------------------------------------------------------------
printf '<!doctype html><title>t</title><script src="/static/app.js"></script>\n' >"$T/www/index.html"
printf 'console.log(1);\n' >"$T/www/app.js"
printf '/* chart */\n' >"$T/chart.js"
printf 'secret\n' >"$T/secret.txt"
start_api() { # start_api NAME ARGS...: sets PORT and API_PID
  local name=$1; shift
  bg "$name" sg-api --listen 127.0.0.1:0 --dsn "$API_DSN" --www "$T/www" --chartjs "$T/chart.js" "$@"
  API_PID=$LAST_PID
  wait_until 30 grep -q 'listening addr=' "$T/$name.log" || { tail -5 "$T/$name.log" >&2; fail "sg-api did not start"; }
  PORT=$(grep -o 'listening addr=127.0.0.1:[0-9]*' "$T/$name.log" | tail -1 | cut -d: -f2)
}
start_api api --max-body 65536 --max-batch 100 --request-timeout 3 --ack-timeout 2 --auth-fail-limit 30
U=http://127.0.0.1:$PORT
bg raw sg-raw-store
RAW_PID=$LAST_PID

N=0
# call NAME METHOD PATH [curl args...]: the answer's status in S, body in
# $T/ans/NAME.body, headers in $T/ans/NAME.hdr.
call() {
  local name=$1 method=$2 path=$3; shift 3
  N=$((N + 1))
  S=$(curl -s -o "$T/ans/$name.body" -D "$T/ans/$name.hdr" -w '%{http_code}' -X "$method" "$@" "$U$path") || S=000
}
auth() { echo "Authorization: Bearer $1"; }
body() { cat "$T/ans/$1.body"; }
hdr() { grep -i "^$2:" "$T/ans/$1.hdr" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
# expect NAME STATUS CODE WHAT: a problem document with this status and code
expect_problem() {
  assert_eq "$2" "$S" "$4: status"
  assert_eq "application/problem+json|$2|$3" \
    "$(hdr "$1" Content-Type)|$(jq -r .status "$T/ans/$1.body")|$(jq -r .code "$T/ans/$1.body")" "$4: problem document"
}

# --- health, metrics, OpenAPI, static files -----------------------------------
call healthz GET /healthz
assert_eq "200 ok" "$S $(jq -r .status "$T/ans/healthz.body")" "GET /healthz"
assert_eq "nosniff|default-src 'self'" "$(hdr healthz X-Content-Type-Options)|$(hdr healthz Content-Security-Policy)" "security headers"
call readyz GET /readyz
assert_eq '200 {"status":"ready","postgres":"ok","kafka":"ok"}' "$S $(body readyz)" "GET /readyz"
call index GET /
assert_eq "200 text/html; charset=utf-8" "$S $(hdr index Content-Type)" "GET / serves index.html"
call appjs GET /static/app.js
assert_eq "200 text/javascript; charset=utf-8" "$S $(hdr appjs Content-Type)" "GET /static/app.js"
call chart GET /static/vendor/chart.umd.js
assert_eq "200 /* chart */" "$S $(body chart)" "GET /static/vendor/chart.umd.js from --chartjs"
for p in /static/../secret.txt /static/%2e%2e/secret.txt /static/.hidden /static/app.exe /static/ \
         /static/a//b.js /static/..%2fsecret.txt; do
  call trav GET "$p" --path-as-is
  [ "$S" = 404 ] || fail "GET $p: $S, expected 404"
done
pass "path traversal, hidden files, unknown types: 404"

# The route table and the OpenAPI document list the same routes, and each
# route answers something else than 404 (an admin token: no 401 to count).
sg-api routes | awk '{ print $1, $2 }' | sort >"$T/routes"
call openapi GET /openapi.json
assert_eq 200 "$S" "GET /openapi.json"
jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(ascii_upcase) \($p)"' "$T/ans/openapi.body" | sort >"$T/documented"
diff -u "$T/routes" "$T/documented" >&2 || fail "routes and /openapi.json differ"
assert_eq 20 "$(wc -l <"$T/routes")" "routes in the table and the document"
while read -r m p; do
  path=${p//\{content_id\}/c_0001}; path=${path//\{country\}/DE}; path=${path//\{flag_id\}/00000000-0000-4000-8000-000000000001}
  path=${path//\{id\}/1}; path=${path//\{path\}/app.js}
  if [ "$m" = POST ]; then call probe POST "$path" -H "$(auth "$ADM")" -H 'Content-Type: application/json' --data '{}'
  else call probe GET "$path" -H "$(auth "$ADM")"; fi
  # 404 only as a query's "no such flag/request" problem, never no_route.
  [ "$S" != 404 ] || [ "$(jq -r .detail "$T/ans/probe.body")" != "no such route" ] || fail "$m $p: no such route"
done <"$T/routes"
pass "every route of the document exists on the server"
call nope GET /no/such/route
expect_problem nope 404 not_found "unknown path"
call m405 DELETE /events
expect_problem m405 405 method_not_allowed "DELETE /events"
assert_eq "POST" "$(hdr m405 Allow)" "405 Allow header"

# --- authentication and roles ------------------------------------------------
call noauth GET /auth/whoami
expect_problem noauth 401 unauthorized "no token"
assert_eq Bearer "$(hdr noauth WWW-Authenticate)" "401 WWW-Authenticate"
call badtok GET /auth/whoami -H "$(auth sgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA)"
expect_problem badtok 401 unauthorized "unknown token"
call basic GET /stats/summary -H "Authorization: Basic $(printf 'a:b' | base64)"
expect_problem basic 401 unauthorized "Basic credentials"
for pair in "ING ingest ing" "ANA analyst ana" "PRI privacy pri" "ADM admin adm"; do
  read -r var role name <<<"$pair"
  call who GET /auth/whoami -H "$(auth "${!var}")"
  assert_eq "200 $name $role" "$S $(jq -r '"\(.name) \(.role)"' "$T/ans/who.body")" "whoami as $role"
done
# role route expected-status: who may call what (docs/api.md).
while read -r var m p want; do
  if [ "$m" = POST ]; then call role "$m" "$p" -H "$(auth "${!var}")" -H 'Content-Type: application/json' --data '{}'
  else call role "$m" "$p" -H "$(auth "${!var}")"; fi
  [ "$S" = "$want" ] || fail "$var $m $p: $S, expected $want ($(body role))"
  [ "$want" != 403 ] || [ "$(jq -r .code "$T/ans/role.body")" = forbidden ] || fail "$var $m $p: 403 without code forbidden"
done <<'EOF'
ING GET /stats/summary 403
ING GET /compliance/flags 403
ING GET /privacy-requests/summary 403
ING POST /privacy-requests 403
ING GET /privacy-requests/1 403
ANA GET /stats/summary 200
ANA GET /stats/pipeline 200
ANA GET /compliance/summary 200
ANA GET /compliance/regions 200
ANA GET /privacy-requests/summary 200
ANA GET /privacy-requests/1 403
ANA POST /privacy-requests 403
ANA POST /events 403
PRI GET /privacy-requests/summary 200
PRI GET /privacy-requests/1 404
PRI GET /stats/summary 403
PRI GET /compliance/flags 403
PRI POST /events 403
ADM GET /stats/timeseries 200
ADM GET /compliance/flags 200
ADM GET /privacy-requests/summary 200
ADM POST /events 400
ADM POST /privacy-requests 400
EOF
pass "each role allowed and refused as docs/api.md says"

# Revocation: refused within the token reload (500 ms) or the cache (2 s).
call rev GET /auth/whoami -H "$(auth "$REV")"
assert_eq 200 "$S" "the token to revoke works"
sg-api token revoke --dsn "$OWNER" --name rev 2>>"$T/token.log" || fail "token revoke"
revoked() { call rev GET /auth/whoami -H "$(auth "$REV")"; [ "$S" = 401 ]; }
wait_until 3 revoked || fail "a revoked token still accepted after 3 s"
pass "a revoked token is refused (within 3 s)"
sg-api token list --dsn "$OWNER" >"$T/tokens.txt" 2>>"$T/token.log"
grep -Eq '^rev +analyst .* [0-9T:Z-]+Z$' "$T/tokens.txt" || { cat "$T/tokens.txt" >&2; fail "token list shows no revocation time"; }
! grep -q sgt_ "$T/tokens.txt" || fail "token list prints a token"
pass "token list: names, roles, times; no token"

# Failed authentications from one address: 429 with Retry-After after 30.
for i in $(seq 30); do
  S=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 -H "$(auth sgt_x)" "$U/auth/whoami")
  [ "$S" = 401 ] || fail "bad token $i from 127.0.0.2: $S"
done
call limited GET /auth/whoami --interface 127.0.0.2 -H "$(auth "$ADM")"
expect_problem limited 429 too_many_requests "the 31st attempt from 127.0.0.2, even with a good token"
[ "$(hdr limited Retry-After)" -ge 1 ] || fail "429 without Retry-After"
call other GET /auth/whoami -H "$(auth "$ADM")"
assert_eq 200 "$S" "another address is not limited"

# --- queries: answers and refusals -----------------------------------------------
for p in "/stats/summary?from=2026-01-01&to=2026-01-31" /stats/content/c_0001 /stats/region/US-CA \
         "/stats/timeseries?minutes=5" /stats/pipeline /compliance/summary "/compliance/flags?limit=5" \
         /compliance/regions /privacy-requests/summary; do
  call q GET "$p" -H "$(auth "$ADM")"
  assert_eq "200 application/json" "$S $(hdr q Content-Type)" "GET $p"
  jq -e 'type == "object"' "$T/ans/q.body" >/dev/null || fail "GET $p: not a JSON object"
done
jq -e '.as_of | test("Z$")' "$T/ans/q.body" >/dev/null || fail "as_of is not RFC 3339 UTC"
while read -r p code; do
  call bad GET "$p" -H "$(auth "$ADM")" --path-as-is
  [ "$S" -ge 400 ] && [ "$S" -lt 500 ] || fail "GET $p: $S, expected a 4xx"
  [ "$(jq -r .code "$T/ans/bad.body")" = "$code" ] || fail "GET $p: code $(jq -r .code "$T/ans/bad.body"), expected $code"
done <<'EOF'
/stats/content/1'%20OR%20'1'='1 invalid_parameter
/stats/content/%3Bdrop%20table%20events_raw invalid_parameter
/stats/region/DE';-- invalid_parameter
/stats/region/de invalid_parameter
/compliance/flags/not-a-uuid invalid_parameter
/compliance/flags/00000000-0000-4000-8000-000000000001 not_found
/privacy-requests/0 invalid_parameter
/privacy-requests/-1 invalid_parameter
/privacy-requests/1%20OR%201=1 invalid_parameter
/privacy-requests/99999999999999999999999 invalid_parameter
/stats/summary?from=2026-02-30 invalid_parameter
/stats/summary?from=2026-01-02&to=2026-01-01 invalid_parameter
/stats/timeseries?minutes=0 invalid_parameter
/compliance/flags?limit=501 invalid_parameter
/compliance/flags?cursor=%27%3Bselect invalid_parameter
/stats/content/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa invalid_parameter
EOF
pass "bad and SQL-ish parameters: 400 (404 for an unknown flag), before any query"

# --- POST /events -------------------------------------------------------------
EV_SEQ=0
# ev [EXTRA]: a valid event with a new id (in ID).
ev() {
  EV_SEQ=$((EV_SEQ + 1)); ID=$(printf 'a0000000-0000-4000-8000-%012d' "$EV_SEQ")
  printf '{"event_id":"%s","user_id":"%s","event_type":"page_view","event_timestamp":"2026-01-02T12:34:%02d.123Z","country":"DE"%s}' \
    "$ID" "$UID1" $((EV_SEQ % 60)) "${1:-}"
}
post_events() { # post_events NAME CTYPE FILE
  call "$1" POST /events -H "$(auth "$ING")" -H "Content-Type: $2" --data-binary "@$3"
  if [ "$S" = 202 ]; then jq -r '.event_ids[]' "$T/ans/$1.body" >>"$T/accepted"; fi
}
ev ',"ip_address":"203.0.113.77","metadata":{"note":"write to '"$EMAIL"'","n":1.5}' >"$T/one.json"
ONE=$ID
post_events one application/json "$T/one.json"
assert_eq "202 1 $ONE" "$S $(jq -r '"\(.accepted) \(.event_ids[0])"' "$T/ans/one.body")" "one event: 202, its id"
for i in $(seq 100); do ev; echo; done >"$T/batch.ndjson"
post_events batch application/x-ndjson "$T/batch.ndjson"
assert_eq "202 100" "$S $(jq -r .accepted "$T/ans/batch.body")" "NDJSON batch of 100 (--max-batch): 202"
# Invalid lines: all or nothing, every bad line named.
{ ev; echo; echo '{"event_id":"x"}'; ev; echo; echo; echo 'not json'; ev ',"teleport":1'; echo; } >"$T/mixed.ndjson"
grep -o 'a0000000-[0-9a-f-]*' "$T/mixed.ndjson" >"$T/refused_ids"
post_events mixed application/x-ndjson "$T/mixed.ndjson"
expect_problem mixed 400 invalid_events "NDJSON with bad lines"
assert_eq '[{"line":2,"reason":"missing_field"},{"line":5,"reason":"malformed_json"},{"line":6,"reason":"unknown_field"}]' \
  "$(jq -c .errors "$T/ans/mixed.body")" "the bad lines and their contract reasons"
for i in $(seq 101); do ev; echo; done >"$T/big.ndjson"
post_events big application/x-ndjson "$T/big.ndjson"
expect_problem big 413 payload_too_large "101 events (--max-batch 100)"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/huge.json"
post_events huge application/json "$T/huge.json"
expect_problem huge 413 payload_too_large "a body over --max-body"
call chunked POST /events -H "$(auth "$ING")" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary "@$T/huge.json"
assert_eq 413 "$S" "a chunked body over --max-body"
post_events text text/plain "$T/one.json"
expect_problem text 415 unsupported_media_type "text/plain"
call empty POST /events -H "$(auth "$ING")" -H 'Content-Type: application/x-ndjson' --data-binary ''
expect_problem empty 400 bad_request "an empty body"
# Hostile bodies: the fuzz corpus, binary noise, deep nesting, NUL bytes.
for f in "$SG_SRC"/tests/fuzz/corpus/*; do
  post_events corpus application/json "$f"
  case $S in 202) ;; 400) [ "$(jq -r .code "$T/ans/corpus.body")" = invalid_events ] || fail "$f: 400 without invalid_events" ;;
    *) fail "corpus $(basename "$f"): $S" ;; esac
done
head -c 4096 /dev/urandom >"$T/noise.bin"
printf '%0.s[' $(seq 5000) >"$T/deep.json"
printf '{"event_id":"\0"}\n' >"$T/nul.json"
for f in noise.bin deep.json nul.json; do
  post_events hostile application/x-ndjson "$T/$f"
  assert_eq 400 "$S" "hostile body $f"
done
call alive GET /healthz
assert_eq 200 "$S" "the server is alive after the hostile bodies"

# What reached Kafka is masked: the IP's /24, no e-mail; the rest as sent.
kcat -C -b "$BROKERS" -t user_events -e -q -f '%s\n' 2>>"$T/kcat.log" | grep -F "$ONE" >"$T/one.kafka" || fail "event $ONE not in Kafka"
grep -qF '"ip_address":"203.0.113.0"' "$T/one.kafka" || fail "IP not truncated in Kafka: $(cat "$T/one.kafka")"
! grep -qF -e "203.0.113.77" -e "$EMAIL" "$T/one.kafka" || fail "raw IP or e-mail in Kafka"
grep -qF '"note":"[redacted]","n":1.5}' "$T/one.kafka" || fail "metadata not redacted as the consumers do: $(cat "$T/one.kafka")"
pass "masked before Kafka: IP /24, metadata e-mail redacted, other fields byte for byte"

# --- limits of the connection ---------------------------------------------------
BIGH=$(head -c 20480 /dev/zero | tr '\0' a)
call bighdr GET /healthz -H "X-Big: $BIGH"
[ "$S" -ge 400 ] && [ "$S" -lt 500 ] || fail "a 20 KiB header: $S"
pass "a 20 KiB header: $S"
call midhdr GET /healthz -H "X-Mid: ${BIGH:0:8000}"
assert_eq 200 "$S" "an 8 KiB header is fine"
# A client that sends half a request and stalls: cut after --request-timeout.
slow() { # slow PREFIX: exit status 0 when the server closed the connection
  exec 3<>"/dev/tcp/127.0.0.1/$PORT"
  printf '%b' "$1" >&3
  timeout 10 cat <&3 >"$T/slow.out"
  local rc=$?
  exec 3<&-
  return $rc
}
slow 'POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' || fail "a stalled header not cut"
slow "POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $ING\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"event_id\":" \
  || fail "a stalled body not cut"
pass "clients stalling in the headers and in the body are cut by --request-timeout"

# --- privacy requests -------------------------------------------------------------
call pr POST /privacy-requests -H "$(auth "$PRI")" -H 'Content-Type: application/json' --data "{\"email\":\"$EMAIL\",\"kind\":\"access\"}"
assert_eq "202 access pending" "$S $(jq -r '"\(.kind) \(.status)"' "$T/ans/pr.body")" "POST /privacy-requests"
PR_ID=$(jq -r .id "$T/ans/pr.body")
assert_eq "access|pending|t" "$(psql_q "SELECT kind, status, email = '$EMAIL' FROM privacy_requests WHERE id = $PR_ID")" "the request is filed"
call prget GET "/privacy-requests/$PR_ID" -H "$(auth "$PRI")"
assert_eq "200 $PR_ID pending" "$S $(jq -r '"\(.id) \(.status)"' "$T/ans/prget.body")" "GET /privacy-requests/{id}"
call prbad POST /privacy-requests -H "$(auth "$PRI")" -H 'Content-Type: application/json' --data '{"email":"not-an-address@x"}'
expect_problem prbad 400 invalid_parameter "a malformed e-mail"
! grep -q "not-an-address" "$T/ans/prbad.body" || fail "the refused e-mail is echoed"
call prx POST /privacy-requests -H "$(auth "$PRI")" -H 'Content-Type: application/json' --data '{"email":"a@b.co","name":"x"}'
expect_problem prx 400 invalid_parameter "an unknown field"
rc_of psql -X -q -w -At "$API_DSN" -c "SELECT email FROM privacy_requests" 2>"$T/sgapi.err"
[ "$RC" -ne 0 ] && grep -q "permission denied" "$T/sgapi.err" || fail "sg_api can read privacy_requests.email"
rc_of psql -X -q -w -At "$API_DSN" -c "SELECT count(*) FROM users_pii" 2>"$T/sgapi.err"
[ "$RC" -ne 0 ] && grep -q "permission denied" "$T/sgapi.err" || fail "sg_api can read users_pii"
pass "sg_api cannot read privacy_requests.email nor users_pii"

# --- the broker stopped: 503, nothing answered 202 lost ------------------------------
broker_down
ev >"$T/down.json"; echo "$ID" >>"$T/maybe"
post_events down application/json "$T/down.json"
expect_problem down 503 unavailable "POST /events with the broker stopped"
assert_eq 5 "$(hdr down Retry-After)" "503 Retry-After"
call notready GET /readyz
assert_eq "503 unreachable" "$S $(jq -r .kafka "$T/ans/notready.body")" "GET /readyz with the broker stopped"
broker_up
ready() { call r GET /readyz; [ "$S" = 200 ]; }
wait_until 60 ready || fail "not ready after the broker came back"
for i in $(seq 20); do ev; echo; done >"$T/after.ndjson"
post_events after application/x-ndjson "$T/after.ndjson"
assert_eq 202 "$S" "POST /events after the broker came back"

# Every event answered 202 is in events_raw (sg-raw-store drains the topic).
sort -u "$T/accepted" >"$T/accepted.sorted"
NACC=$(wc -l <"$T/accepted.sorted")
stored_all() { [ "$(psql_q "SELECT count(*) FROM events_raw WHERE event_id::text IN ($(sed "s/.*/'&'/" "$T/accepted.sorted" | paste -sd,))")" = "$NACC" ]; }
wait_until 60 stored_all || fail "not every accepted event reached events_raw"
psql_q "SELECT event_id FROM events_raw ORDER BY 1" >"$T/stored"
comm -23 "$T/stored" <(sort -u "$T/accepted" "$T/maybe") >"$T/extra"
[ ! -s "$T/extra" ] || fail "events_raw holds events never answered 202 nor 503: $(head -3 "$T/extra")"
grep -qxFf "$T/refused_ids" "$T/stored" && fail "an event of a refused (400) request was stored"
pass "all $NACC events answered 202 are in events_raw; none of a 400 request"
assert_eq "203.0.113.0" "$(psql_q "SELECT ip_truncated FROM events_raw WHERE event_id = '$ONE'")" "the stored IP"

# --- TLS ---------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
  -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || fail "openssl req"
PLAIN_PORT=$PORT PLAIN_PID=$API_PID
start_api tls --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
TLS_PID=$API_PID
S=$(curl -s -o "$T/ans/tls.body" -w '%{http_code}' --cacert "$T/cert.pem" "https://localhost:$PORT/healthz") || S=000
assert_eq 200 "$S" "GET /healthz over TLS"
rc_of curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz"
[ "$RC" -ne 0 ] || [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" != 200 ] || fail "plain HTTP answered on the TLS port"
kill -TERM "$TLS_PID"; wait "$TLS_PID" || fail "the TLS server's exit status"
PORT=$PLAIN_PORT API_PID=$PLAIN_PID

# --- metrics, then SIGTERM: every request is a row of the access log ------------------
call metrics GET /metrics
assert_eq "200 text/plain; version=0.0.4; charset=utf-8" "$S $(hdr metrics Content-Type)" "GET /metrics"
grep -q '^sg_api_http_requests_total{route="/events",status="202"} [1-9]' "$T/ans/metrics.body" || fail "no events counter"
grep -q 'route="unmatched",status="404"' "$T/ans/metrics.body" || fail "no unmatched 404 counter"
! grep -q 'no/such' "$T/ans/metrics.body" || fail "a raw path in the metrics"
kill -TERM "$API_PID"
rc=0; wait "$API_PID" || rc=$?
assert_eq 0 "$rc" "sg-api exit status on SIGTERM"
FINAL=$(grep -o 'final requests=[0-9]*' "$T/api.log" | cut -d= -f2)
TLSREQ=$(grep -o 'final requests=[0-9]*' "$T/tls.log" | cut -d= -f2)
assert_eq "$((FINAL + TLSREQ))" "$(psql_q 'SELECT count(*) FROM api_access_log')" "access-log rows = requests answered (both servers)"
psql_q "SELECT DISTINCT coalesce(route, '-') FROM api_access_log ORDER BY 1" >"$T/logged_routes"
comm -23 "$T/logged_routes" <( (echo -; awk '{ print $2 }' "$T/routes") | sort -u) >"$T/odd_routes"
[ ! -s "$T/odd_routes" ] || fail "access log routes that are not templates: $(cat "$T/odd_routes")"
pass "the access log holds route templates only"
assert_eq "t|t" "$(psql_q "SELECT count(*) FILTER (WHERE status = 401 AND token_name IS NULL) >= 3, count(*) FILTER (WHERE status = 403 AND token_name = 'ing' AND role = 'ingest') >= 5 FROM api_access_log")" \
  "401 rows without a token, 403 rows with the token's name and role"

REFUSED=$(psql_q "SELECT count(*) FROM api_access_log WHERE status IN (401, 403)")
sg-report access-audit --date "$(date -u +%F)" --server-log "$T/no-log" --output-dir "$T/reports" --dsn "$ANALYTICS_DSN" \
  >"$T/report.out" 2>>"$T/report.log" || fail "sg-report access-audit"
grep -q "^Refused API requests: $REFUSED\$" "$T/report.out" || fail "access-audit does not count the $REFUSED refused API requests"
grep -qE '^\| [0-9:.]+ +\| 403 +\| `ing` +\| `ingest` +\| `GET /stats/summary` +\|$' "$T/reports/access_audit_$(date -u +%F).md" \
  || fail "access-audit does not list the 403 of ing"
pass "sg-report access-audit lists the API's $REFUSED refused requests"

# --- the e-mail: in privacy_requests only ---------------------------------------------
pg_dump -w "$OWNER" --data-only -t api_access_log -t api_tokens >"$T/dump.sql" || fail "pg_dump"
for f in "$T"/*.log "$T"/*.out "$T"/ans/* "$T/dump.sql"; do
  [ "$f" = "$T/one.kafka" ] && continue
  ! grep -qF "$EMAIL" "$f" || fail "the e-mail is in $(basename "$f")"
done
pass "the privacy request's e-mail is in no log, answer or access-log row"
kill -TERM "$RAW_PID"; wait "$RAW_PID" || fail "sg-raw-store exit status"
