#!/usr/bin/env bash
# sg-test-brokers: embedded
# Prometheus metrics (README, "Metrics"): sg-raw-store, sg-stream-metrics,
# sg-compliance, sg-gdpr and sg-alert run with --metrics-listen on ports
# of their own (port 0: the kernel picks, the start line says which) over
# 3,000 events of which 300 are invalid (30 per contract reason). Scraped
# with curl: consumed, stored and rejected (per reason) are exactly what
# was produced; every partition's lag reaches 0; the flags counter matches
# compliance_flags (and the extensions counter moved); sg-gdpr's processed counter moves for a request and
# its pending gauge is back to 0; sg-alert's gauges match
# alert_deliveries and its failed deliveries are counted by sink. Every
# scrape parses as exposition format 0.0.4 (tests/tools/prom_check.py),
# no label has more values than its bound, and no e-mail or user id
# appears in any of them. Only /metrics answers, and a taken port is one
# line and exit 1. One broker lane: the metrics are broker-independent
# code over the engine that the other tests run on both.
source "$(dirname "$0")/lib.sh"

CHECK=$SG_SRC/tests/tools/prom_check.py
N=3000; BAD=300; VALID=$((N - BAD))

db_create
broker_start 3
seed_users 60 42
generate --count $N --invalid-ratio 0.1 --seed 21
assert_eq $BAD "$(jq .invalid "$T/gen.json")" "invalid events produced"

# port NAME: the port a daemon's start line says it listens on.
port_of() { sed -n 's/.*metrics listening on .* port=\([0-9]*\).*/\1/p' "$T/$1.log" | head -1; }
has_port() { [ -n "$(port_of "$1")" ]; }
# start NAME CMD...: runs a daemon with --metrics-listen 127.0.0.1:0 and
# sets PORT_<NAME> once it listens.
declare -A PORT
start() {
  local name=$1; shift
  bg "$name" "$@" --metrics-listen 127.0.0.1:0
  wait_until 30 has_port "$name" || fail "$name: no 'metrics listening' line: $(tail -3 "$T/$name.log")"
  PORT[$name]=$(port_of "$name")
}
# scrape NAME: the daemon's /metrics into a new $T/scrape-NAME-*.txt
# (every scrape is kept for the checks at the end); prints its path.
scrape() {
  local f; f=$(mktemp --suffix=.txt "$T/scrape-$1-XXXXXX")
  curl -sf --max-time 5 -o "$f" "http://127.0.0.1:${PORT[$1]}/metrics" || fail "scraping $1"
  echo "$f"
}
# value FILE SAMPLE: the value of one sample line (name{labels}), or "none".
value() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }' "$1"; }
# sum FILE PREFIX: the sum of the samples whose name{labels} starts with PREFIX.
sum_of() { awk -v p="$2" 'index($1, p) == 1 { s += $2 } END { printf "%d\n", s }' "$1"; }

start raw sg-raw-store --dead-letter-window 500
start sm sg-stream-metrics
start cpl sg-compliance --no-publish

# A taken port: one line, exit 1, before anything else happens.
rc_of sg-stream-metrics --group sg-metrics-busy --metrics-listen "127.0.0.1:${PORT[raw]}" 2>"$T/busy.err"
assert_eq 1 "$RC" "exit status with the metrics port taken"
assert_eq 1 "$(wc -l <"$T/busy.err")" "lines on stderr with the metrics port taken"
grep -q "cannot listen on 127.0.0.1:${PORT[raw]}: Address already in use" "$T/busy.err" \
  || fail "the busy port's line: $(cat "$T/busy.err")"
rc_of sg-gdpr --metrics-listen "localhost:99999" 2>"$T/badport.err"
assert_eq 2 "$RC" "exit status with port 99999"

# Only GET /metrics.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
assert_eq 404 "$(code "http://127.0.0.1:${PORT[raw]}/")" "GET /"
assert_eq 404 "$(code "http://127.0.0.1:${PORT[raw]}/metrics/x")" "GET /metrics/x"
assert_eq 405 "$(code -X POST "http://127.0.0.1:${PORT[raw]}/metrics")" "POST /metrics"
ctype=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:${PORT[raw]}/metrics")
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$ctype" "Content-Type"

# drained GROUP NAME: the group read every event, committed them all
# (the batch sizes add up to N) and its lag is 0 on each of the 3
# partitions.
drained() {
  local f; f=$(scrape "$2")
  [ "$(value "$f" "sg_events_consumed_total{group=\"$1\"}")" = "$N" ] || return 1
  [ "$(value "$f" "sg_batch_size_sum{group=\"$1\"}")" = "$N" ] || return 1
  [ "$(grep -c "^sg_consumer_lag{group=\"$1\",topic=\"user_events\",partition=\"[0-2]\"} 0$" "$f")" = 3 ]
}
for d in "sg-raw-store raw" "sg-stream-metrics sm" "sg-compliance cpl"; do
  set -- $d
  wait_until 60 drained "$1" "$2" || fail "$1 did not drain: $(grep -E '^sg_(events|consumer)' "$(scrape "$2")")"
  pass "$1: consumed $N, lag 0 on every partition"
done

# Exact counts, per reason, against the generator's summary.
expected_reasons >"$T/want-reasons.txt"
for d in "sg-raw-store raw" "sg-stream-metrics sm" "sg-compliance cpl"; do
  set -- $d
  f=$(scrape "$2")
  assert_eq "$VALID" "$(value "$f" "sg_events_stored_total{group=\"$1\"}")" "$1 stored"
  assert_eq "$BAD" "$(sum_of "$f" "sg_events_rejected_total{group=\"$1\",")" "$1 rejected"
  sed -n "s/^sg_events_rejected_total{group=\"$1\",reason=\"\([a-z_0-9]*\)\"} \([0-9]*\)$/\1 \2/p" "$f" \
    | awk '$2 > 0' | sort >"$T/got-reasons-$2.txt"
  assert_eq "$(cat "$T/want-reasons.txt")" "$(cat "$T/got-reasons-$2.txt")" "$1 rejected by reason"
  assert_eq 10 "$(grep -c "^sg_events_rejected_total{group=\"$1\"," "$f")" "$1 reason series (every code, zeros too)"
  batches=$(value "$f" "sg_batch_size_count{group=\"$1\"}")
  [ "$batches" != none ] && [ "$batches" -gt 0 ] || fail "$1: no batches counted"
  assert_eq "$N" "$(value "$f" "sg_batch_size_sum{group=\"$1\"}")" "$1 messages over its batch sizes"
  assert_eq "$batches" "$(value "$f" "sg_commit_seconds_count{group=\"$1\"}")" "$1 commits timed"
done
assert_eq "$VALID" "$(psql_q 'SELECT count(*) FROM events_raw')" "events_raw rows (the counters' ground truth)"

# Compliance flags: raised = the rows of compliance_flags.
f=$(scrape cpl)
assert_eq "$(psql_q 'SELECT count(*) FROM compliance_flags')" \
  "$(awk -F'[{}]' '/^sg_compliance_flags_total\{/ && /change="raised"/ { split($3, a, " "); s += a[1] } END { printf "%d\n", s }' "$f")" \
  "flags raised (metrics) = compliance_flags rows"
[ "$(value "$f" sg_compliance_flag_extensions_total)" -gt 0 ] || fail "no flag extensions counted"

# sg-gdpr: a request for a known user moves the processed counter.
start gdpr sg-gdpr --no-notices --poll-interval 1
EMAIL=$(psql_q "SELECT email FROM users_pii ORDER BY user_id LIMIT 1")
f=$(scrape gdpr)
assert_eq 0 "$(value "$f" 'sg_privacy_requests_processed_total{kind="erasure",status="anonymized"}')" "anonymized before the request"
psql -X -q -w -At -v ON_ERROR_STOP=1 -v e="$EMAIL" "$PG_DSN" <<<"INSERT INTO privacy_requests (email) VALUES (:'e')" >/dev/null
gdpr_done() {
  local f; f=$(scrape gdpr)
  [ "$(value "$f" 'sg_privacy_requests_processed_total{kind="erasure",status="anonymized"}')" = 1 ] &&
    [ "$(value "$f" 'sg_privacy_requests_pending{kind="erasure"}')" = 0 ]
}
wait_until 20 gdpr_done || fail "sg-gdpr's counter: $(grep '^sg_privacy' "$(scrape gdpr)")"
pass "sg-gdpr: processed counter moved, pending gauge 0"
assert_eq 0 "$(value "$(scrape gdpr)" 'sg_privacy_request_oldest_pending_seconds')" "oldest pending age with none pending"

# sg-alert: the dead-letter alerts (10 % invalid > 5 % in every window)
# go to a sink nobody listens on: retried, counted under the sink's name.
alerts=$(psql_q "SELECT count(*) FROM alerts")
[ "$alerts" -gt 0 ] || fail "no dead-letter alerts to deliver"
DEAD_PORT=$(sg_free_port)
export SG_METRICS_IT_SECRET="it-$RANDOM-secret"
cat >"$T/alert.sinks" <<CONF
backoff_min = 100ms
backoff_max = 200ms
[sink nowhere]
url = http://127.0.0.1:$DEAD_PORT/hook
secret_env = SG_METRICS_IT_SECRET
CONF
start alert sg-alert --sinks "$T/alert.sinks"
alert_seen() {
  local f; f=$(scrape alert)
  [ "$(value "$f" 'sg_alerts{state="pending"}')" = "$alerts" ] &&
    [ "$(value "$f" 'sg_alert_deliveries_total{sink="nowhere",outcome="retried"}')" -ge "$alerts" ] 2>/dev/null
}
wait_until 20 alert_seen || fail "sg-alert's metrics: $(grep '^sg_alert' "$(scrape alert)")"
assert_eq "$alerts" "$(psql_q "SELECT count(*) FROM alert_deliveries WHERE status = 'pending'")" "pending deliveries in the table"
pass "sg-alert: pending gauge = alert_deliveries, retries counted by sink"

# sg-api: /metrics on its --metrics-listen port as on its own (no token
# needed on either), requests counted by route template, never the path
# (which here holds a user id).
start api sg-api --listen 127.0.0.1:0 --dsn "host=$PGHOST_TEST dbname=$TEST_DB user=sg_api"
wait_until 30 grep -q "listening addr=" "$T/api.log" || fail "sg-api: no 'listening' line: $(tail -3 "$T/api.log")"
APORT=$(sed -n 's/.*listening addr=[^ ]*:\([0-9]*\) .*/\1/p' "$T/api.log" | head -1)
uid=$(psql_q "SELECT user_id FROM users_public LIMIT 1")
assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$APORT/healthz")" "sg-api /healthz"
assert_eq 401 "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sgt_nope' \
  "http://127.0.0.1:$APORT/stats/content/$uid")" "sg-api: a query with an unknown token"
api_counted() {
  local f; f=$(scrape api)
  [ "$(value "$f" 'sg_api_http_requests_total{route="/healthz",status="200"}')" = 1 ] &&
    [ "$(value "$f" 'sg_api_http_requests_total{route="/stats/content/{content_id}",status="401"}')" = 1 ]
}
wait_until 10 api_counted || fail "sg-api's request counters: $(grep '^sg_api_http' "$(scrape api)")"
curl -sf -o "$T/scrape-api-ownport.txt" "http://127.0.0.1:$APORT/metrics" || fail "sg-api's /metrics on its own port"
grep -q '^sg_api_http_requests_total{route="/healthz",status="200"} 1$' "$T/scrape-api-ownport.txt" \
  || fail "sg-api's own port serves other numbers than --metrics-listen's"
pass "sg-api: /metrics on --metrics-listen and on its own port, requests counted by route template"

# Process basics on every daemon.
for d in raw sm cpl gdpr alert api; do
  f=$(scrape $d)
  grep -q '^sg_build_info{version="[0-9.]*"} 1$' "$f" || fail "$d: sg_build_info"
  grep -q '^process_start_time_seconds [0-9]' "$f" || fail "$d: process_start_time_seconds"
  grep -q '^process_resident_memory_bytes [1-9]' "$f" || fail "$d: process_resident_memory_bytes"
done
pass "sg_build_info, process_start_time_seconds, RSS on every daemon"

# Every scrape: valid exposition, bounded labels (10 reason codes at most
# here), no e-mail, no user id, nothing dropped into "other".
python3 "$CHECK" --max-values 10 "$T"/scrape-*.txt >"$T/check.out" || fail "exposition check: $(head -5 "$T/check.out")"
pass "$(ls "$T"/scrape-*.txt | wc -l) scrapes parse as exposition format 0.0.4, no label over 10 values"
psql_q "SELECT user_id FROM users_public" >"$T/user_ids.txt"
echo "$EMAIL" >>"$T/user_ids.txt"
assert_eq 0 "$(cat "$T"/scrape-*.txt | grep -c -F -f "$T/user_ids.txt" || true)" "scrape lines with a user id or the e-mail"
assert_eq 0 "$(cat "$T"/scrape-*.txt | grep -c '@' || true)" "scrape lines with an '@'"
assert_eq 0 "$(cat "$T"/scrape-*.txt | grep -c '^sg_metrics_series_dropped_total{' || true)" "series dropped into other"
