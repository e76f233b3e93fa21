#!/usr/bin/env bash
# sg-test-brokers: embedded
# Every alert source, end to end: each cause is produced by the real
# binaries, and its alert reaches a webhook receiver through sg-alert
# (tests/tools/alert_receiver.py checks every signature):
#   consumer   dead_letter_rate     sg-raw-store over a window with 20 % invalid
#   compliance (a rule)             sg-compliance raising high flags
#   consumer   offset_gap           sg-raw-store finding its stored offset gone
#   gdpr       request_failed       sg-gdpr on a request without an e-mail
#   gdpr       request_overdue      sg-gdpr on a request pending for 27 days
#   compare    batch_stream_differ  sg-compare --alert finding a difference
# and no body carries an e-mail address.
source "$(dirname "$0")/lib.sh"

RECEIVER=$SG_SRC/tests/tools/alert_receiver.py
export SG_ALERT_SRC_SECRET="src-$RANDOM$RANDOM-hmac"
PORT=$(sg_free_port)

db_create
broker_start 1
seed_users 100 42

bg recv python3 "$RECEIVER" --port "$PORT" --port-file "$T/recv.port" \
  --secret-env SG_ALERT_SRC_SECRET --log "$T/recv.jsonl"
wait_until 20 test -s "$T/recv.port" || fail "the receiver did not start"
cat >"$T/sources.sinks" <<CONF
backoff_min = 200ms
backoff_max = 2s
[sink all]
url = http://127.0.0.1:$PORT/hook
secret_env = SG_ALERT_SRC_SECRET
sources = compliance, gdpr, compare, consumer
min_severity = low
rate_per_minute = 100000
CONF
bg alert sg-alert --sinks "$T/sources.sinks" --progress-interval 2; ALERT=$LAST_PID

# One partition: 1,100 events, a fifth of them invalid, so the first
# window of 1,000 offsets is passed and over 5 %.
generate --count 1100 --invalid-ratio 0.2 --seed 5
sg-raw-store --idle-exit 2 >/dev/null 2>"$T/raw.log" || fail "sg-raw-store"
sg-compliance --idle-exit 2 --no-publish >/dev/null 2>"$T/cpl.log" || fail "sg-compliance"
[ "$(psql_q "SELECT count(*) FROM compliance_flags WHERE severity = 'high'")" -gt 0 ] || fail "no high flag raised"
# The raw store's offset moved past the log's end: a gap.
psql_q "UPDATE stream_offsets SET next_offset = next_offset + 500 WHERE consumer_group = 'sg-raw-store'" >/dev/null
sg-raw-store --idle-exit 2 >/dev/null 2>"$T/raw-gap.log" || fail "sg-raw-store (gap)"
# Privacy requests: one without an e-mail, one pending for 27 days.
psql_q "INSERT INTO privacy_requests (email) VALUES ('  ');
        INSERT INTO privacy_requests (email, requested_at) VALUES ('late.requester@example.test', now() - interval '27 days')" >/dev/null
sg-gdpr --once --no-notices >/dev/null 2>"$T/gdpr.log" || fail "sg-gdpr --once"
# Batch metrics without streaming ones: they differ.
sg-batch-metrics --all >/dev/null 2>"$T/batch.log" || fail "sg-batch-metrics"
rc_of sg-compare --all --alert >"$T/compare.out" 2>"$T/compare.log"
assert_eq 1 "$RC" "sg-compare --alert exit status"

KINDS="dead_letter_rate offset_gap request_failed request_overdue batch_stream_differ"
nalerts=$(psql_q "SELECT count(*) FROM alerts")
delivered() { [ "$(jq -r 'select(.status == 200) | .key' "$T/recv.jsonl" 2>/dev/null | sort -u | wc -l)" = "$nalerts" ]; }
wait_until 60 delivered || fail "delivered $(jq -r 'select(.status == 200) | .key' "$T/recv.jsonl" | sort -u | wc -l) of $nalerts alerts"
for kind in $KINDS; do
  [ "$(jq -r --arg k "$kind" 'select(.status == 200 and .kind == $k) | .key' "$T/recv.jsonl" | sort -u | wc -l)" -ge 1 ] \
    || fail "no $kind alert reached the receiver"
done
ncpl=$(psql_q "SELECT count(*) FROM alerts WHERE source = 'compliance'")
[ "$ncpl" -gt 0 ] || fail "no compliance alert"
assert_eq "$ncpl" "$(jq -r 'select(.status == 200) | .body | fromjson | select(.source == "compliance") | .alert_id' "$T/recv.jsonl" | sort -u | wc -l)" \
  "compliance alerts received"
pass "every source's alert arrived: $KINDS and $ncpl compliance alerts ($nalerts in all)"
assert_eq 0 "$(jq -r 'select(.signature_valid != true) | .n' "$T/recv.jsonl" | wc -l)" "requests with an invalid signature"
assert_eq 0 "$(jq -r '.body' "$T/recv.jsonl" | grep -c '@' || true)" "bodies with an '@'"
assert_eq "sent $nalerts" "$(psql_q "SELECT status || ' ' || count(*) FROM alert_deliveries GROUP BY status")" "deliveries by status"
kill -TERM "$ALERT"; wait_pid "$ALERT" 30 || fail "sg-alert exit status after SIGTERM"
grep -q "$SG_ALERT_SRC_SECRET" "$T"/*.log && fail "the secret is in a log"
pass "signed, no e-mail address, every delivery sent, the secret in no log"

# TLS verification is always on: a sink serving a self-signed certificate
# for 127.0.0.1 is refused, and taken once its ca_file names that
# certificate.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/tls.key" -out "$T/tls.crt" -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >"$T/openssl.log" 2>&1 || fail "openssl req"
bg recv-tls python3 "$RECEIVER" --port 0 --port-file "$T/recv-tls.port" --secret-env SG_ALERT_SRC_SECRET \
  --log "$T/recv-tls.jsonl" --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
wait_until 20 test -s "$T/recv-tls.port" || fail "the TLS receiver did not start"
TPORT=$(cat "$T/recv-tls.port")
cat >"$T/tls.sinks" <<CONF
connect_timeout = 2s
timeout = 3s
[sink noca]
url = https://127.0.0.1:$TPORT/hook
secret_env = SG_ALERT_SRC_SECRET
[sink withca]
url = https://127.0.0.1:$TPORT/hook
secret_env = SG_ALERT_SRC_SECRET
ca_file = $T/tls.crt
CONF
rc_of sg-alert test --sink noca --sinks "$T/tls.sinks" >"$T/tls-noca.out" 2>"$T/tls-noca.err"
assert_eq 1 "$RC" "sg-alert test, a self-signed certificate without its CA: exit status"
grep -Eq "^sink noca: tls failure after [0-9]+ ms" "$T/tls-noca.out" || fail "sg-alert test printed: $(cat "$T/tls-noca.out")"
rc_of sg-alert test --sink withca --sinks "$T/tls.sinks" >"$T/tls-ca.out" 2>"$T/tls-ca.err"
assert_eq 0 "$RC" "sg-alert test, the same certificate with ca_file: exit status"
grep -Eq "^sink withca: HTTP 200 in [0-9]+ ms" "$T/tls-ca.out" || fail "sg-alert test printed: $(cat "$T/tls-ca.out")"
assert_eq "1 true" "$(jq -rs '"\(length) \(.[0].signature_valid)"' "$T/recv-tls.jsonl")" "requests the TLS receiver answered, signature"
pass "TLS: an unknown certificate refused, the same one taken with ca_file"
