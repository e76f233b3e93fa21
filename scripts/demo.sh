#!/usr/bin/env bash
# The README's first command: set everything up, then run the whole product
# end to end on a real Apache Kafka (scripts/kafka.sh, single node, data in
# .sg/kafka) and the local PostgreSQL:
#   users -> Kafka -> sg-raw-store + sg-stream-metrics <- sg-generate
#   -> sg-batch-metrics + sg-compare (the Lambda diff)
#   -> the consent log (sg-consent: each user's consent history, event time)
#   -> a deletion request handled by sg-gdpr, then an access request
#      (the user's data exported, checksummed, mode 600)
#   -> sg-compliance on the generator's compliance scenario (a known set of
#      violations of every rule), its flags against the ground truth
#   -> sg-alert delivering the alerts those causes inserted to a local
#      webhook receiver (signed; beyond the sink's rate, one digest)
#   -> sg-api: tokens with roles, events over HTTP acknowledged by Kafka
#      and stored, stats and compliance queries, refusals, /metrics; the
#      dashboard's address and an analyst token to log in with
#   -> the reports (daily KPIs, GDPR audit, compliance, consent, access
#      audit) and what sg-retention would drop (--dry-run).
# Options: --events N (default 30000), --invalid-ratio F (default 0.01),
# --embedded (run on sg-broker, librdkafka's in-memory mock cluster, instead;
# also the fallback, said in one line, when Java or Maven cannot be installed),
# --serve (at the end, keep sg-api and the dashboard up until Ctrl-C).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVENTS=30000
INVALID=0.01
EMBEDDED=0
SERVE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --events) EVENTS=${2:?--events needs a number}; shift 2 ;;
    --invalid-ratio) INVALID=${2:?--invalid-ratio needs a fraction}; shift 2 ;;
    --embedded) EMBEDDED=1; shift ;;
    --serve) SERVE=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$EMBEDDED" -eq 1 ]; then "$ROOT/scripts/setup.sh" --no-kafka; else "$ROOT/scripts/setup.sh"; fi
SG_SRC=$ROOT
SG_BIN=$ROOT/build/bin
SG_LOGDIR=$ROOT/.sg/demo
SG_KAFKA_DIR=$ROOT/.sg/kafka
BIN=$SG_BIN
RUN=$SG_LOGDIR
mkdir -p "$RUN"
rm -f "$RUN"/*.log "$RUN"/*.out
export SG_BROKER_FILE=$RUN/broker.addr
unset KAFKA_BOOTSTRAP_SERVERS PG_DSN
# shellcheck source=sg-lib.sh
source "$ROOT/scripts/sg-lib.sh"
sg_die() { echo "demo.sh: $*" >&2; exit 1; }
KAFKA_STARTED=0
cleanup() {
  sg_stop_all
  [ "$KAFKA_STARTED" -eq 0 ] || sg_broker_stop
}
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
sql() { psql -X -q -w "host=${PGHOST:-localhost} dbname=${PGDATABASE:-streamguard} user=sg_analytics" "$@"; }

if [ "$EMBEDDED" -eq 0 ] && [ -s "$ROOT/.sg/kafka-unavailable" ]; then
  echo "demo.sh: no real Apache Kafka ($(cat "$ROOT/.sg/kafka-unavailable")): falling back to sg-broker"
  EMBEDDED=1
fi
if [ "$EMBEDDED" -eq 0 ]; then
  # shellcheck source=../config/kafka/versions.env
  source "$ROOT/config/kafka/versions.env"
  step "starting Apache Kafka $KAFKA_VERSION (scripts/kafka.sh: KRaft, one node, loopback, data in .sg/kafka); logs of this run go to $RUN/"
  # A broker already running (kafka.sh status) is used and left running.
  sg_kafka_sh status >/dev/null 2>&1 || KAFKA_STARTED=1
  sg_broker_start kafka 6
  echo "broker: Apache Kafka $KAFKA_VERSION at $BROKERS (a real broker; its data stays in .sg/kafka)"
  # Offsets stored for another cluster (an earlier demo on sg-broker) do
  # not describe this broker's topic, which keeps every earlier demo's
  # events: the consumers would read them all again and count them twice
  # against events_raw. Start from an empty database then.
  DB=${PGDATABASE:-streamguard}
  cluster=$("$BIN/sg-topics" --brokers "$BROKERS" wait 2>/dev/null | awk '$1 == "cluster" { print $2 }')
  if [ -n "$cluster" ] && [ "$(sg_psql_owner "$DB" -At -c "SELECT count(*) FROM stream_offsets WHERE cluster_id <> '$cluster'")" != 0 ]; then
    echo "the database holds offsets of another Kafka cluster (an earlier demo on sg-broker): starting from an empty database $DB"
    sg_db_create "$DB"
    sg_psql_owner postgres -c "REVOKE CONNECT ON DATABASE $DB FROM PUBLIC" \
      -c "GRANT CONNECT ON DATABASE $DB TO sg_owner, sg_writer, sg_analytics, sg_api" >/dev/null
  fi
else
  step "starting sg-broker (embedded Kafka-protocol broker); logs of this run go to $RUN/"
  sg_broker_start embedded 6
  echo "broker: sg-broker (librdkafka's in-memory mock cluster) at $BROKERS"
fi

step "seeding 1,000 synthetic users (PII in users_pii only)"
"$BIN/sg-seed-users" --users 1000 --seed 42

step "starting the consumers: sg-raw-store and sg-stream-metrics (one consumer group each)"
sg_bg raw-store "$BIN/sg-raw-store" --idle-exit 4 --progress-interval 2; RAW=$LAST_PID
sg_bg stream-metrics "$BIN/sg-stream-metrics" --idle-exit 4 --progress-interval 2; SM=$LAST_PID

step "generating $EVENTS events over the last 3 days ($INVALID of them invalid on purpose)"
"$BIN/sg-generate" --count "$EVENTS" --days 3 --invalid-ratio "$INVALID" --seed "$(date +%s)" \
  >"$RUN/generate.json" 2>"$RUN/generate.log"
jq -c '{sent, delivered, failed, valid, invalid}' "$RUN/generate.json"

step "waiting for both consumers to drain the topic"
sg_wait_pid "$RAW" 600 || sg_die "sg-raw-store failed (see $RUN/raw-store.log)"
sg_wait_pid "$SM" 600 || sg_die "sg-stream-metrics failed (see $RUN/stream-metrics.log)"
grep -h "exit status" "$RUN/raw-store.log" "$RUN/stream-metrics.log" | sed 's/^/  /'

step "what landed (queried as the read-only sg_analytics role)"
sql -c "SELECT event_type, count(*) AS events, sum(amount) AS amount
          FROM events_raw GROUP BY 1 ORDER BY 2 DESC"
sql -c "SELECT reason, count(*) AS rejected FROM events_rejected GROUP BY 1 ORDER BY 2 DESC"

DEMO_T0=$(sql -At -c "SELECT now()") # this run's alerts are those after it
step "Lambda: recompute the metrics from events_raw, diff them against the streaming ones"
"$BIN/sg-batch-metrics" --all 2>"$RUN/batch.log"
echo
"$BIN/sg-compare" --all --alert 2>"$RUN/compare.log" || sg_die "batch and streaming differ (above)"

step "consent: sg-consent derives each user's consent history (event-time order) from the same events"
"$BIN/sg-consent" --idle-exit 3 --progress-interval 2 2>"$RUN/consent.log" || sg_die "sg-consent failed (see $RUN/consent.log)"
grep -h "exit status" "$RUN/consent.log" | sed 's/^/  /'
sql -c "SELECT count(DISTINCT user_id) AS users, count(*) AS changes,
               count(*) FILTER (WHERE prev_consent IS NOT NULL AND consent <> prev_consent) AS consent_flips,
               count(*) FILTER (WHERE prev_do_not_track IS NOT NULL AND do_not_track <> prev_do_not_track) AS dnt_flips
          FROM consent_log"

step "a deletion request: one INSERT, handled by sg-gdpr"
sg_bg gdpr "$BIN/sg-gdpr" --progress-interval 5; GDPR=$LAST_PID
"$ROOT/scripts/gdpr-request.sh" --timeout 30
sg_stop_pid "$GDPR"

step "the right of access: INSERT ... (email, kind) VALUES (..., 'access'); sg-gdpr exports what is stored about the user"
# The address is read through the audited function (purpose access_export)
# and never printed.
WRITER_DSN="host=${PGHOST:-localhost} dbname=${PGDATABASE:-streamguard} user=sg_writer"
AEMAIL=$(psql -X -q -w -At "$WRITER_DSN" -c "SELECT p.email FROM pii_lookup((
           SELECT u.user_id FROM users_public u WHERE NOT EXISTS (SELECT 1 FROM privacy_requests r
             WHERE r.user_id = u.user_id) ORDER BY u.user_id LIMIT 1), 'access_export') p")
[ -n "$AEMAIL" ] || sg_die "no user left to export"
AID=$(psql -X -q -w -At -v e="$AEMAIL" "$WRITER_DSN" <<<"INSERT INTO privacy_requests (email, kind) VALUES (:'e', 'access') RETURNING id")
unset AEMAIL
rm -rf "$RUN/exports"
"$BIN/sg-gdpr" --once --no-notices --export-dir "$RUN/exports" 2>"$RUN/gdpr-access.log" || sg_die "sg-gdpr --once failed (see $RUN/gdpr-access.log)"
sql -c "SELECT id, kind, status, processed_at - requested_at AS took FROM privacy_requests WHERE id = $AID"
ls -l "$RUN/exports" | sed 's/^/  /'
(cd "$RUN/exports" && sha256sum -c "access_$AID.sha256" | sed 's/^/  /') || sg_die "the export's checksum does not verify"
echo "  the document's sections: $(jq -c 'keys' "$RUN/exports/access_$AID.json")"

step "compliance: sg-compliance on the generator's scenario (every rule broken on purpose, in background traffic), on a fresh topic"
# A fresh topic and fresh rule state, so that the scenario's last three
# hours are not made late by events of earlier runs.
CTOPIC=compliance_demo_$(date +%s)
"$BIN/sg-topics" --partitions 6 create "$CTOPIC" >/dev/null 2>"$RUN/topics.log" || sg_die "cannot create topic $CTOPIC (see $RUN/topics.log)"
sg_psql_owner "${PGDATABASE:-streamguard}" -c "TRUNCATE compliance_flags, compliance_daily, compliance_late,
  compliance_partitions, compliance_snapshots, compliance_windows, compliance_baselines;
  DELETE FROM outbox WHERE channel = 'compliance_flag';
  DELETE FROM stream_offsets WHERE consumer_group = 'sg-compliance-demo'" >/dev/null
# The user just erased keeps sending events: erased_user_activity.
read -r ERASED ERASED_AT < <(sql -At -F ' ' -c "SELECT user_id,
  to_char(processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')
  FROM privacy_requests WHERE status = 'anonymized' ORDER BY processed_at DESC LIMIT 1") || true
"$BIN/sg-generate" --topic "$CTOPIC" --scenario compliance --seed 1 --truth "$RUN/truth.tsv" \
  ${ERASED:+--erased-user "$ERASED" --erased-at "$ERASED_AT"} >"$RUN/scenario.json" 2>"$RUN/scenario.log" \
  || sg_die "sg-generate --scenario compliance failed (see $RUN/scenario.log)"
echo "scenario: $(jq .delivered "$RUN/scenario.json") events, $(grep -vc '^#' "$RUN/truth.tsv") expected flags (ground truth in $RUN/truth.tsv)"
"$BIN/sg-compliance" --topic "$CTOPIC" --group sg-compliance-demo --idle-exit 3 --progress-interval 2 \
  2>"$RUN/compliance.log" || sg_die "sg-compliance failed (see $RUN/compliance.log)"
grep -h "exit status" "$RUN/compliance.log" | sed 's/^/  /'
sql -c "SELECT rule, severity, count(*) AS flags, sum(event_count) AS events
          FROM compliance_flags GROUP BY 1, 2 ORDER BY 1, 2"
sql -c "SELECT rule, subject_type AS subject, left(subject_id, 8) AS id, window_start, observed, threshold, evidence
          FROM compliance_flags WHERE rule IN ('multi_country', 'purchase_burst', 'content_error_rate', 'traffic_anomaly')
         ORDER BY rule, window_start"
# Users erased by earlier demo runs stay in the generator's user list and
# keep sending events: erased_user_activity flags them too, rightly, but the
# scenario's ground truth knows only this run's erasure. They are counted
# apart.
got=$(sql -At -c "SELECT rule || E'\t' || subject_type || E'\t' || subject_id || E'\t' ||
          to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM compliance_flags f
         WHERE NOT (rule = 'erased_user_activity' AND subject_id <> '${ERASED:-}' AND EXISTS (
                    SELECT 1 FROM privacy_requests r WHERE r.status = 'anonymized' AND r.user_id::text = f.subject_id))" |
      LC_ALL=C sort)
earlier=$(sql -At -c "SELECT count(*) FROM compliance_flags f WHERE rule = 'erased_user_activity'
            AND subject_id <> '${ERASED:-}' AND EXISTS (SELECT 1 FROM privacy_requests r
            WHERE r.status = 'anonymized' AND r.user_id::text = f.subject_id)")
[ "$earlier" = 0 ] || echo "users erased by earlier demo runs who kept sending events: $earlier erased_user_activity flags (not in this scenario's ground truth)"
want=$(grep -v '^#' "$RUN/truth.tsv" | LC_ALL=C sort)
missing=$(comm -23 <(echo "$want") <(echo "$got") | grep -c . || true)
extra=$(comm -13 <(echo "$want") <(echo "$got") | grep -c . || true)
echo "against the ground truth: $(echo "$want" | grep -c .) expected, $missing missing, $extra unexpected"
[ "$missing" = 0 ] && [ "$extra" = 0 ] || sg_die "sg-compliance's flags differ from the ground truth (see $RUN/truth.tsv)"
echo "its rules' state, snapshotted per partition at exit (a restart restores it and replays the log since):"
sg_psql_owner "${PGDATABASE:-streamguard}" -c "SELECT kafka_partition AS partition, next_offset, users,
          pg_size_pretty(length(state)::bigint) AS size FROM compliance_snapshots WHERE topic = '$CTOPIC' ORDER BY 1"

step "alerts: sg-alert delivers what the causes above inserted (here: the high flags) to a local webhook receiver, signed"
# A loopback receiver that checks each request's HMAC signature
# (tests/tools/alert_receiver.py) stands in for an on-call webhook; the
# sink takes 5 alerts a minute, the rest arrive folded into one digest.
SG_DEMO_ALERT_SECRET=$(openssl rand -hex 24)
export SG_DEMO_ALERT_SECRET
RPORT=$(sg_free_port)
rm -f "$RUN/receiver.port" "$RUN/receiver.jsonl"
sg_bg receiver python3 "$ROOT/tests/tools/alert_receiver.py" --port "$RPORT" --port-file "$RUN/receiver.port" \
  --secret-env SG_DEMO_ALERT_SECRET --log "$RUN/receiver.jsonl"; RECV=$LAST_PID
sg_wait_until 20 test -s "$RUN/receiver.port" || sg_die "the demo's webhook receiver did not start (see $RUN/receiver.log)"
cat >"$RUN/demo.sinks" <<SINKS
[sink demo]
url = http://127.0.0.1:$RPORT/hook
secret_env = SG_DEMO_ALERT_SECRET
min_severity = low
rate_per_minute = 5
SINKS
"$BIN/sg-alert" --once --sinks "$RUN/demo.sinks" 2>"$RUN/alert.log" || sg_die "sg-alert failed (see $RUN/alert.log)"
grep -h "final" "$RUN/alert.log" | sed 's/^/  /'
sql -c "SELECT a.source, a.kind, a.severity, d.status, count(*) AS alerts
          FROM alerts a JOIN alert_deliveries d USING (alert_id)
         WHERE d.sink = 'demo' AND a.created_at >= '$DEMO_T0' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
echo "the receiver: $(jq -s 'length' "$RUN/receiver.jsonl") requests, $(jq -s 'map(select(.signature_valid)) | length' "$RUN/receiver.jsonl") with a valid signature; the text lines of three:"
jq -r 'select(.status == 200) | .body | fromjson | .text' "$RUN/receiver.jsonl" | head -3 | sed 's/^/  /'
echo "and the digest that carried the rest (beyond the sink's 5 a minute):"
jq -r 'select(.status == 200) | .body | fromjson | select(.source == "digest") | .text' "$RUN/receiver.jsonl" | head -1 | sed 's/^/  /'
sg_stop_pid "$RECV"

step "the HTTP API: sg-api (tokens with roles; POST /events answered once Kafka acknowledged; queries)"
# Tokens are printed once and stored as SHA-256 only; names are per run.
TAG=demo-$(date +%s)
INGEST_TOKEN=$("$BIN/sg-api" token create --role ingest --name "$TAG-ingest" 2>>"$RUN/api.log") ||
  sg_die "sg-api token create failed (see $RUN/api.log)"
ANALYST_TOKEN=$("$BIN/sg-api" token create --role analyst --name "$TAG-analyst" 2>>"$RUN/api.log") ||
  sg_die "sg-api token create failed (see $RUN/api.log)"
"$BIN/sg-api" token list 2>>"$RUN/api.log" | grep -E "^name|$TAG" | sed 's/^/  /'
sg_bg api "$BIN/sg-api" --listen 127.0.0.1:0; API=$LAST_PID
sg_wait_until 30 grep -q "listening addr=" "$RUN/api.log" || sg_die "sg-api did not start (see $RUN/api.log)"
APORT=$(sed -n 's/.*listening addr=[^ ]*:\([0-9]*\) .*/\1/p' "$RUN/api.log" | tail -1)
AURL=http://127.0.0.1:$APORT
echo "sg-api at $AURL (the server connects as the sg_api role, which cannot read personal data)"
acurl() { curl -sS -o "$RUN/api.body" -w '%{http_code}' "$@"; }
# Three events of the v1 contract, one per line; the IP is masked by sg-api
# before Kafka, like the consumers mask it.
uid=$(sql -At -c "SELECT user_id FROM users_public LIMIT 1")
for i in 1 2 3; do
  printf '{"event_id":"%s","user_id":"%s","event_type":"page_view","event_timestamp":"%s","country":"DE","ip_address":"203.0.113.%d","has_consent":true}\n' \
    "$(cat /proc/sys/kernel/random/uuid)" "$uid" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$i"
done >"$RUN/api-events.ndjson"
code=$(acurl -H "Authorization: Bearer $INGEST_TOKEN" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$RUN/api-events.ndjson" "$AURL/events")
echo "POST /events (3 events, NDJSON, ingest token): $code $(cat "$RUN/api.body")"
[ "$code" = 202 ] || sg_die "POST /events answered $code (see $RUN/api.log)"
"$BIN/sg-raw-store" --idle-exit 2 2>"$RUN/raw-store.api.log" || sg_die "sg-raw-store failed (see $RUN/raw-store.api.log)"
echo "in events_raw: $(sql -At -c "SELECT count(*) FROM events_raw WHERE event_id IN ($(jq -r '.event_ids | map("'"'"'" + . + "'"'"'") | join(",")' "$RUN/api.body"))") of the 3 acknowledged events; their IPs (203.0.113.1-3) stored as $(sql -At -c "SELECT DISTINCT ip_truncated FROM events_raw WHERE event_id = '$(jq -r '.event_ids[0]' "$RUN/api.body")'")"
code=$(acurl -H "Authorization: Bearer $ANALYST_TOKEN" "$AURL/stats/summary")
echo "GET /stats/summary (analyst): $code $(jq -c '{events, plays, playback_errors, error_rate, purchase_amount, top_countries: .top_countries[:3]}' "$RUN/api.body")"
code=$(acurl -H "Authorization: Bearer $ANALYST_TOKEN" "$AURL/compliance/summary?from=$(date -u -d '-7 days' +%F)&to=$(date -u +%F)")
echo "GET /compliance/summary (analyst, last 7 days): $code $(jq -c '{total, risk, by_rule: .by_rule[:3]}' "$RUN/api.body")"
code=$(acurl -H "Authorization: Bearer $ANALYST_TOKEN" -H 'Content-Type: application/json' --data-binary '{}' "$AURL/events")
echo "POST /events with the analyst token: $code $(jq -r .title "$RUN/api.body") (every role has its routes)"
code=$(acurl -H "Authorization: Bearer sgt_not-a-token" "$AURL/stats/summary")
echo "an unknown token: $code $(jq -r .title "$RUN/api.body") (401 and 403 are refused attempts in the access-audit report below)"
echo "GET /metrics (Prometheus; routes are templates, never ids):"
curl -sS "$AURL/metrics" | grep '^sg_api_http_requests_total' | head -4 | sed 's/^/  /'

step "reports: the daily KPI report and the consent report for yesterday, today's GDPR audit and access audit, the compliance report of the scenario's day"
"$BIN/sg-report" daily --output-dir "$ROOT/reports/output" 2>"$RUN/report.log" || true
"$BIN/sg-report" gdpr-audit --date "$(date -u +%F)" --output-dir "$ROOT/reports/output" 2>>"$RUN/report.log" || true
CDAY=$(sql -At -c "SELECT to_char(max(window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM compliance_flags")
"$BIN/sg-report" compliance --date "$CDAY" --output-dir "$ROOT/reports/output" 2>>"$RUN/report.log" || true
"$BIN/sg-report" consent --output-dir "$ROOT/reports/output" 2>>"$RUN/report.log" || true
"$BIN/sg-report" access-audit --date "$(date -u +%F)" --output-dir "$ROOT/reports/output" 2>>"$RUN/report.log" || true
ls -1 "$ROOT/reports/output" | sed 's/^/  reports\/output\//'

step "retention: what sg-retention would do today (--dry-run; it runs as sg_owner, from cron)"
"$BIN/sg-retention" --dry-run --dsn "host=${PGHOST:-localhost} dbname=${PGDATABASE:-streamguard} user=sg_owner" \
  2>"$RUN/retention.log" | sed 's/^/  /' || sg_die "sg-retention --dry-run failed (see $RUN/retention.log)"

step "and the analytics role cannot read personal data:"
sql -c "SELECT email FROM users_pii LIMIT 1" 2>&1 | head -1 || true
echo
echo "The dashboard: $AURL/ , log in with this analyst token (shown once; revoke it with"
echo "  build/bin/sg-api token revoke --name $TAG-analyst):"
echo "  $ANALYST_TOKEN"
if [ "$SERVE" -eq 1 ]; then
  echo "sg-api keeps serving (--serve): Ctrl-C to stop."
  wait "$API" || true
else
  echo "(sg-api stops with the demo: run build/bin/sg-api, then open http://127.0.0.1:8080/, or ./scripts/demo.sh --serve)"
fi
echo
echo "Done. Each daemon can also run in its own terminal: see the README. Logs: $RUN/"
