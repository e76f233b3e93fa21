#!/usr/bin/env bash
# No e-mail address from users_pii ends up in events_raw or events_rejected,
# even when producers put real addresses into events (valid and invalid).
source "$(dirname "$0")/lib.sh"

db_create
broker_start 3
seed_users 200 42
psql_q "SELECT email FROM users_pii ORDER BY user_id LIMIT 20" >"$T/emails.txt"
[ "$(wc -l <"$T/emails.txt")" -eq 20 ] || fail "could not read 20 e-mails"
psql_q "SELECT user_id FROM users_public ORDER BY user_id LIMIT 20" >"$T/users.txt"

# Hand-made events carrying real e-mails: valid (metadata, nested, in
# arrays, as a key), and invalid (malformed, unknown field, too large).
i=0
paste -d' ' "$T/users.txt" "$T/emails.txt" | while read -r uid email; do
  i=$((i + 1))
  eid=$(printf '00000000-0000-4000-8000-%012d' "$i")
  base="\"event_id\":\"$eid\",\"user_id\":\"$uid\",\"event_type\":\"page_view\",\"event_timestamp\":\"2026-01-02T12:00:00Z\",\"country\":\"DE\""
  echo "$uid|{$base,\"metadata\":{\"note\":\"mail me at $email please\",\"deep\":{\"a\":[\"x\",\"$email\"]},\"$email\":1}}"
  echo "$uid|{$base,\"metadata\":{\"contact\":\"$email\"}"            # malformed
  echo "$uid|{$base,\"email\":\"$email\"}"                               # unknown field
  pad=$(head -c 9000 /dev/zero | tr '\0' 'x')
  echo "$uid|{$base,\"metadata\":{\"c\":\"$email\",\"pad\":\"$pad\"}}"   # too large
done >"$T/pii-events.txt"
kcat -P -b "$BROKERS" -t user_events -K '|' -l "$T/pii-events.txt" 2>"$T/kcat.log"
generate --count 2000 --invalid-ratio 0.05 --seed 5

sg-raw-store --idle-exit 3 2>"$T/raw.log" || fail "sg-raw-store exit status"
assert_eq 20 "$(psql_q "SELECT count(*) FROM events_raw WHERE event_id::text LIKE '00000000-0000-4000-8000-%'")" \
  "hand-made valid events stored"
psql -X -q -w -At "$OWNER_DSN" -c "COPY (SELECT * FROM events_raw) TO STDOUT" >"$T/events_raw.dump"
psql -X -q -w -At "$OWNER_DSN" -c "COPY (SELECT * FROM events_rejected) TO STDOUT" >"$T/events_rejected.dump"
found=0
while read -r email; do
  for f in events_raw.dump events_rejected.dump raw.log generate.log; do
    if grep -qiF "$email" "$T/$f"; then log "e-mail of a user found in $f"; found=$((found + 1)); fi
  done
done <"$T/emails.txt"
assert_eq 0 "$found" "users_pii e-mails found in events_raw, events_rejected or logs"
assert_eq 60 "$(psql_q "SELECT count(*) FROM events_rejected WHERE payload LIKE '%[redacted]%' AND kafka_offset >= 0 AND payload LIKE '%00000000-0000-4000-8000-%'")" \
  "hand-made rejected events stored with redacted payloads"
grep -q '\[redacted\]' "$T/events_raw.dump" || fail "no [redacted] marker in events_raw"
pass "redaction marker present in events_raw"
