#!/usr/bin/env bash
# sg-test-brokers: embedded kafka
# Hostile input interleaved with valid events: every reason code of the
# contract, empty values, null values (tombstones, with and without a key),
# a UTF-8 BOM, trailing bytes after the object, numbers like 1e400 and -0,
# metadata nested up to and beyond the limit (and beyond what the JSON
# parser allows), a 1 MiB value, non-UTF-8 and binary keys, NUL bytes.
# sg-raw-store and sg-stream-metrics run through all of it: both exit 0,
# no sanitizer report, every valid event stored exactly once (including
# the hostile-but-valid ones), every hostile message rejected with the
# reason the contract gives it, and the full audit holds.
#
# The hostile messages are written to files and produced with kcat
# (-K/-D with control-character delimiters, so that keys and values may
# hold any byte but those two; -Z turns empty values and keys into NULLs).
# kcat skips an empty record, so a message with no key and an empty value
# cannot be produced that way: the empty values have a key or an empty one.
# Each message that carries an event_id gets its own, so that its verdict
# is checked one by one; the others are checked by reason and message.
source "$(dirname "$0")/../integration/lib.sh"

db_create
broker_start 6
seed_users 300 42
B=$(head -1 "$SG_BROKER_FILE")   # the file holds the address, then run_id=...
KSEP=$'\x1f'                     # key delimiter (kcat -K '\x1f')
MSEP=$'\x1e'                     # message delimiter (kcat -D '\x1e')
UID1=5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d
TS='"event_timestamp":"2026-01-02T12:34:56.123Z"'

# --- the hostile messages ---------------------------------------------------
# Expected verdicts, decided from the contract and common/sg_event.c:
# size first (too_large), then UTF-8 (invalid_utf8), then "empty value" and
# a byte order mark (malformed_json), then the JSON parser: a number out of
# range is invalid_value, a duplicate key duplicate_key, anything else that
# does not parse (trailing bytes, NUL, NaN, nesting beyond the parser's 2048
# levels) malformed_json; then not_object, unknown_field, missing_field,
# wrong_type, invalid_value, inconsistent. Keys are never read.
declare -A WANT_REASON=()   # reason -> count expected from the hostile set
declare -A ITEM_WANT=()     # event_id -> expected verdict (stored or a reason)
declare -A ITEM_DESC=()     # event_id -> what the item is
N_HOSTILE=0; N_VALID=0; N_INVALID=0; N_SEQ=0
id() { N_SEQ=$((N_SEQ + 1)); ID=$(printf 'e0000000-0000-4000-8000-%012d' "$N_SEQ"); }
# ev TYPE EXTRA: sets v to a contract-valid event (a new id, in $ID) with
# EXTRA fields added.
ev() { id; printf -v v '{"event_id":"%s","user_id":"%s","event_type":"%s",%s,"country":"NL"%s}' \
         "$ID" "$UID1" "$1" "$TS" "${2:-}"; }
tally() { # tally EXPECTED: counts one message; EXPECTED = stored or a reason
  N_HOSTILE=$((N_HOSTILE + 1))
  if [ "$1" = stored ]; then N_VALID=$((N_VALID + 1)); else
    N_INVALID=$((N_INVALID + 1)); WANT_REASON[$1]=$(( ${WANT_REASON[$1]:-0} + 1 )); fi
}
# put FILE EXPECTED DESC KEY VALUE [ID]: one message; KEY "-" = no key (NULL).
put() {
  local file=$1 want=$2 desc=$3 key=$4 value=$5 tag=${6:-}
  if [ "$key" = - ]; then printf '%s%s' "$value" "$MSEP" >>"$file"
  else printf '%s%s%s%s' "$key" "$KSEP" "$value" "$MSEP" >>"$file"; fi
  tally "$want"
  if [ -n "$tag" ]; then ITEM_WANT[$tag]=$want; ITEM_DESC[$tag]=$desc; fi
}
H1=$T/hostile-1.bin; H2=$T/hostile-2.bin; TOMB=$T/tombstones.bin; BIG=$T/big-1MiB.bin
: >"$H1"; : >"$H2"; : >"$TOMB"

# Hostile but valid: stored like any event.
ev page_view; put "$H1" stored "non-UTF-8 key" $'\xff\xfe\x80' "$v" "$ID"
ev purchase ',"amount":9.99'; put "$H1" stored "invalid 2-byte UTF-8 sequence as key" $'\xc3\x28k' "$v" "$ID"
ev page_view; put "$H1" stored "4 KiB binary key" "$(head -c 4096 /dev/zero | tr '\0' '\376')" "$v" "$ID"
ev page_view; put "$H1" stored "empty key" "" "$v" "$ID"
ev page_view; put "$H1" stored "no key" - "$v" "$ID"
ev page_view ',"amount":-0'; put "$H1" stored "amount -0 on a page_view" "$UID1" "$v" "$ID"; NEG0_INT=$ID
ev page_view ',"amount":-0.0'; put "$H1" stored "amount -0.0 on a page_view" "$UID1" "$v" "$ID"; NEG0_REAL=$ID
ev purchase ',"amount":1e2'; put "$H1" stored "amount 1e2 on a purchase" "$UID1" "$v" "$ID"; EXP_AMOUNT=$ID
ev page_view ',"metadata":{"a":{"b":{"c":{"d":1}}}}'; put "$H1" stored "metadata nested 4 deep (the limit)" "$UID1" "$v" "$ID"; DEEP4=$ID
ev page_view ',"metadata":{"a":[[[1]]]}'; put "$H1" stored "metadata arrays 4 deep" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"":"\u00e9t\u00e9 ☃ 😀","n":-0,"z":1e-5}'; put "$H1" stored "metadata: empty key, escapes, emoji, -0" "$UID1" "$v" "$ID"
ev page_view; put "$H1" stored "whitespace around the object" "$UID1" $' \t\r\n'"$v"$'\n\t ' "$ID"
ev page_view; UPPER=${ID^^}; v=${v/$ID/$UPPER}; put "$H1" stored "upper-case event_id" "$UID1" "$v" "$ID"; UPPER_ID=$ID
ev page_view; v=$(printf '%-8192s' "$v"); put "$H1" stored "exactly 8192 bytes (padded)" "$UID1" "$v" "$ID"
ev stop ',"content_id":"c1","watch_seconds":0'; put "$H1" stored "stop with watch_seconds 0" "$UID1" "$v" "$ID"

# Every reason code of the contract, several ways.
ev page_view; v=$(printf '%-8193s' "$v"); put "$H1" too_large "8193 bytes" "$UID1" "$v" "$ID"
ev page_view ',"device_id":"x'$'\xff''"'; v=$(printf '%-70000s' "$v"); put "$H1" too_large "70000 bytes, invalid UTF-8 too" "$UID1" "$v" "$ID"
ev page_view ',"device_id":"'$'\xff''"'; put "$H1" invalid_utf8 "0xFF in a string" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"k":"'$'\xc0\x80''"}'; put "$H1" invalid_utf8 "overlong NUL" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"k":"'$'\xed\xa0\x80''"}'; put "$H1" invalid_utf8 "UTF-16 surrogate" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"k":"'$'\xe2\x82''"}'; put "$H1" invalid_utf8 "truncated sequence" "$UID1" "$v" "$ID"
ev page_view; put "$H1" invalid_utf8 "Latin-1 byte before the object" "$UID1" $'\xe9'"$v" "$ID"
put "$H1" invalid_utf8 "binary garbage" "$UID1" $'\xff\xfe\xfd\x01\x02'
ev page_view; put "$H1" malformed_json "UTF-8 BOM before a valid event" "$UID1" $'\xef\xbb\xbf'"$v" "$ID"
ev page_view; put "$H1" malformed_json "trailing bytes after the object" "$UID1" "$v x" "$ID"
ev page_view; put "$H1" malformed_json "a second object after the first" "$UID1" "$v{}" "$ID"
ev page_view; put "$H1" malformed_json "an extra closing brace" "$UID1" "$v}" "$ID"
ev page_view ',"metadata":{"k":NaN}'; put "$H1" malformed_json "NaN" "$UID1" "$v" "$ID"
ev page_view ',"device_id":"a\u0000b"'; put "$H1" malformed_json "escaped NUL in a string" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"a":'"$(printf '%3000s' '' | tr ' ' '[')$(printf '%3000s' '' | tr ' ' ']')"'}'
put "$H1" malformed_json "metadata nested 3000 deep (beyond the parser's limit)" "$UID1" "$v" "$ID"
put "$H1" malformed_json "single quotes" "$UID1" "{'a':1}"
put "$H1" malformed_json "unterminated object" "$UID1" '{"event_id":'
put "$H1" malformed_json "whitespace only" "$UID1" '   '
put "$H1" malformed_json "empty value, keyed" "$UID1" ""
put "$H1" malformed_json "empty value, empty key" "" ""
put "$H1" not_object "null" "$UID1" 'null'
put "$H1" not_object "an array" "$UID1" '[]'
ev page_view; put "$H1" not_object "a valid event in an array" $'\xff' "[$v]" "$ID"
put "$H1" not_object "a string" "$UID1" '"page_view"'
put "$H1" not_object "a number" "$UID1" '42'
put "$H1" not_object "true" "$UID1" ' true '
ev page_view ',"country":"DE"'; put "$H1" duplicate_key "country twice" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"x":{"a":1,"a":2}}'; put "$H1" duplicate_key "duplicate key in nested metadata" "$UID1" "$v" "$ID"
put "$H1" missing_field "empty object" "$UID1" '{}'
id; put "$H1" missing_field "no country" "$UID1" \
  "{\"event_id\":\"$ID\",\"user_id\":\"$UID1\",\"event_type\":\"page_view\",$TS}" "$ID"
id; put "$H1" missing_field "country null" "$UID1" \
  "{\"event_id\":\"$ID\",\"user_id\":\"$UID1\",\"event_type\":\"page_view\",$TS,\"country\":null}" "$ID"
ev purchase; put "$H1" missing_field "purchase without amount" "$UID1" "$v" "$ID"
ev playback_error ',"content_id":"c1"'; put "$H1" missing_field "playback_error without error_code" "$UID1" "$v" "$ID"
ev page_view ',"has_consent":"yes"'; put "$H1" wrong_type "boolean as a string" "$UID1" "$v" "$ID"
ev purchase ',"amount":"19.99"'; put "$H1" wrong_type "amount as a string" "$UID1" "$v" "$ID"
ev page_view ',"metadata":[]'; put "$H1" wrong_type "metadata an array" "$UID1" "$v" "$ID"
ev stop ',"content_id":"c1","watch_seconds":1.5'; put "$H1" wrong_type "watch_seconds 1.5" "$UID1" "$v" "$ID"
ev purchase ',"amount":1e400'; put "$H1" invalid_value "amount 1e400" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"n":-1e400}'; put "$H1" invalid_value "-1e400 in metadata" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"n":99999999999999999999}'; put "$H1" invalid_value "integer over 64 bits in metadata" "$UID1" "$v" "$ID"
ev purchase ',"amount":-0'; put "$H1" invalid_value "amount -0 on a purchase" "$UID1" "$v" "$ID"
ev purchase ',"amount":-0.0'; put "$H1" invalid_value "amount -0.0 on a purchase" "$UID1" "$v" "$ID"
ev purchase ',"amount":12.345'; put "$H1" invalid_value "amount with 3 decimals" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"a":{"b":{"c":{"d":{}}}}}'; put "$H1" invalid_value "metadata nested 5 deep" "$UID1" "$v" "$ID"
ev page_view ',"metadata":'"$(printf '{"a":%.0s' $(seq 100))1$(printf '}%.0s' $(seq 100))"; put "$H1" invalid_value "metadata nested 100 deep" "$UID1" "$v" "$ID"
ev page_view ',"metadata":{"k":"'"$(printf '%2100s' '' | tr ' ' 'm')"'"}'; put "$H1" invalid_value "metadata over 2 KiB" "$UID1" "$v" "$ID"
ev page_view; v=${v/'"NL"'/'"UK"'}; put "$H1" invalid_value "country UK" "$UID1" "$v" "$ID"
ev page_view; v=${v/2026-01-02/2100-01-02}; put "$H1" invalid_value "year 2100" "$UID1" "$v" "$ID"
ev page_view; v=${v/$UID1/not-a-uuid}; put "$H1" invalid_value "user_id not a UUID" "$UID1" "$v" "$ID"
ev page_view ',"email":"victim@example.com"'; put "$H1" unknown_field "an e-mail as an extra field" "$UID1" "$v" "$ID"; EMAIL_ITEM=$ID
ev page_view ',"extra":null'; put "$H1" unknown_field "unknown field set to null" "$UID1" "$v" "$ID"
ev page_view ',"is_eu":false'; put "$H1" inconsistent "is_eu false for NL" "$UID1" "$v" "$ID"
ev page_view ',"amount":5'; put "$H1" inconsistent "amount on a page_view" "$UID1" "$v" "$ID"
ev play; put "$H1" inconsistent "play without content_id" "$UID1" "$v" "$ID"
ev play ',"content_id":"c1","watch_seconds":3'; put "$H1" inconsistent "watch_seconds on a play" "$UID1" "$v" "$ID"

# A second file, produced later: NUL bytes (bash strings cannot hold them,
# so printf writes them), and more valid events with odd keys.
ev page_view; printf '%s%s%s\0%s' "$UID1" "$KSEP" "$v" "$MSEP" >>"$H2"
tally malformed_json; ITEM_WANT[$ID]=malformed_json; ITEM_DESC[$ID]="a NUL byte after the object"
ev page_view; printf '\0\0%s%s%s' "$KSEP" "$v" "$MSEP" >>"$H2"
tally stored; ITEM_WANT[$ID]=stored; ITEM_DESC[$ID]="key of NUL bytes"
ev add_to_cart; put "$H2" stored "key with a newline and a tab" $'a\nb\tc' "$v" "$ID"

# Null values (tombstones): with a key, with a non-UTF-8 key, without a key.
printf '%s%s%s' "$UID1" "$KSEP" "$MSEP" >>"$TOMB"
printf '%s%s%s' $'\xff\xfe' "$KSEP" "$MSEP" >>"$TOMB"
printf '%s%s' "$KSEP" "$MSEP" >>"$TOMB"   # with -Z: NULL key too
for _ in 1 2 3; do tally malformed_json; done
N_TOMB=3; N_EMPTY=2   # "empty value, keyed" and "empty value, empty key" above

# 1 MiB: a valid event whose metadata string makes it 1,048,576 bytes.
id; BIG_ID=$ID
printf '{"event_id":"%s","user_id":"%s","event_type":"page_view",%s,"country":"NL","metadata":{"k":"' \
  "$ID" "$UID1" "$TS" >"$BIG"
pad=$((1048576 - $(stat -c %s "$BIG") - 3))
head -c "$pad" /dev/zero | tr '\0' 'a' >>"$BIG"; printf '"}}' >>"$BIG"
assert_eq 1048576 "$(stat -c %s "$BIG")" "size of the big message"
tally too_large; ITEM_WANT[$BIG_ID]=too_large; ITEM_DESC[$BIG_ID]="1 MiB value"
log "hostile set: $N_HOSTILE messages, $N_VALID valid, $N_INVALID invalid"

# kcat_put ARGS...: produce with kcat; exit status checked.
kcat_put() { kcat -P -b "$B" -t user_events -q "$@" 2>>"$T/kcat.log" || { cat "$T/kcat.log" >&2; fail "kcat $*"; }; }

# --- the run ------------------------------------------------------------------
bg raw sg-raw-store --batch-ms 200; RAW=$LAST_PID
bg sm sg-stream-metrics --batch-ms 300; SM=$LAST_PID
sg-generate --count 20000 --rate 4000 --invalid-ratio 0.01 --days 2 --seed 505 >"$T/gen.json" 2>"$T/generate.log" &
GEN=$!
sleep 1
kcat_put -K '\x1f' -D '\x1e' -l "$H1"
sleep 1
kcat_put -Z -K '\x1f' -D '\x1e' -l "$TOMB"
sleep 1
# The producer's default message.max.bytes (1,000,000) refuses 1 MiB; the
# embedded broker accepts it (it has no message size limit of its own).
kcat_put -X message.max.bytes=2000000 -k "$UID1" "$BIG"
sleep 1
kcat_put -K '\x1f' -D '\x1e' -l "$H2"
kill -0 "$GEN" 2>/dev/null || log "WARNING: sg-generate finished before the last hostile batch"
wait "$GEN" || fail "sg-generate failed"
cp "$T/gen.json" "$T/gen-all.json"
assert_eq 20000 "$(jq .delivered "$T/gen.json")" "valid-stream events delivered"

# The log holds exactly what was sent.
end_offsets() { kcat -C -b "$B" -t user_events -o -1 -e -q -f '%p %o\n' 2>>"$T/kcat.log" | sort -n; }
ends=$(end_offsets)
TOTAL=$((20000 + N_HOSTILE))
assert_eq "$TOTAL" "$(awk '{s += $2 + 1} END {print s + 0}' <<<"$ends")" "messages in the log"

kill -TERM "$RAW" "$SM"
rc=0; wait "$RAW" || rc=$?; assert_eq 0 "$rc" "sg-raw-store exit status (SIGTERM)"
rc=0; wait "$SM" || rc=$?; assert_eq 0 "$rc" "sg-stream-metrics exit status (SIGTERM)"
rc=0; sg-raw-store --idle-exit 3 2>"$T/raw.final.log" || rc=$?; assert_eq 0 "$rc" "final sg-raw-store exit status"
rc=0; sg-stream-metrics --idle-exit 3 2>"$T/sm.final.log" || rc=$?; assert_eq 0 "$rc" "final sg-stream-metrics exit status"
if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$T"/raw*.log "$T"/sm*.log; then
  fail "sanitizer report in the daemons' logs"
fi
pass "no sanitizer report"

# --- verdicts -------------------------------------------------------------------
GEN_INVALID=$(jq .invalid "$T/gen.json")
assert_eq 200 "$GEN_INVALID" "invalid events from the generator"
VALID=$((20000 - GEN_INVALID + N_VALID))
audit_raw_store "$VALID" $((GEN_INVALID + N_INVALID)) "$TOTAL"
want=$( { expected_reasons; for r in "${!WANT_REASON[@]}"; do echo "$r ${WANT_REASON[$r]}"; done; } |
        awk '{n[$1] += $2} END {for (r in n) print r, n[r]}' | sort)
assert_eq "$want" "$(actual_reasons)" "rejections by reason (generator + hostile)"
for reason in too_large invalid_utf8 malformed_json not_object duplicate_key missing_field \
              wrong_type invalid_value unknown_field inconsistent; do
  [ "${WANT_REASON[$reason]:-0}" -gt 0 ] || fail "the hostile set has no $reason"
done
pass "the hostile set covers all ten reason codes"

# One by one, each message that carries an event_id.
bad=0
for tag in "${!ITEM_WANT[@]}"; do
  got=$(psql_q "SELECT 'stored' FROM events_raw WHERE event_id = '$tag'
                UNION ALL SELECT reason FROM events_rejected WHERE payload ILIKE '%$tag%'")
  if [ "$got" != "${ITEM_WANT[$tag]}" ]; then
    log "item $tag (${ITEM_DESC[$tag]}): expected ${ITEM_WANT[$tag]}, got '${got//$'\n'/,}'"; bad=$((bad + 1))
  fi
done
assert_eq 0 "$bad" "messages with a verdict other than expected (of ${#ITEM_WANT[@]} checked one by one)"
assert_eq "$N_TOMB" "$(psql_q "SELECT count(*) FROM events_rejected WHERE message = 'empty value (tombstone)'
                               AND payload = '' AND payload_bytes = 0")" "tombstones rejected as such"
assert_eq "$N_EMPTY" "$(psql_q "SELECT count(*) FROM events_rejected WHERE message = 'empty value'
                                AND payload_bytes = 0")" "empty values rejected as such"
assert_eq 1 "$(psql_q "SELECT count(*) FROM events_rejected WHERE message = 'value starts with a byte order mark'")" \
  "BOM rejections"
assert_eq "too_large|8192|1048576|t" "$(psql_q "SELECT reason, octet_length(payload), payload_bytes,
    payload LIKE '{\"event_id\":\"$BIG_ID\"%' FROM events_rejected WHERE payload_bytes > 100000")" \
  "the 1 MiB message: reason, stored payload bytes, payload_bytes, payload start"
assert_eq "0|1" "$(psql_q "SELECT count(*) FILTER (WHERE payload LIKE '%victim@example.com%'),
    count(*) FILTER (WHERE payload LIKE '%[redacted]%') FROM events_rejected WHERE payload LIKE '%$EMAIL_ITEM%'")" \
  "e-mail in a rejected payload redacted"
assert_eq "0.00|0.00|100.00" "$(psql_q "SELECT string_agg(amount::text, '|' ORDER BY event_id) FROM events_raw
    WHERE event_id IN ('$NEG0_INT', '$NEG0_REAL', '$EXP_AMOUNT')")" "amounts -0, -0.0, 1e2 as stored"
assert_eq 1 "$(psql_q "SELECT count(*) FROM events_raw WHERE event_id = '$UPPER_ID' AND event_id::text = lower('$UPPER_ID')")" \
  "upper-case event_id stored lower-case"
assert_eq '{"a": {"b": {"c": {"d": 1}}}}' "$(psql_q "SELECT metadata FROM events_raw WHERE event_id = '$DEEP4'")" \
  "metadata nested 4 deep stored"

# Both groups read to the end of every partition.
audit_offsets_at "$(awk '{print $1, $2 + 1}' <<<"$ends")"
assert_eq "$VALID" "$(psql_q 'SELECT sum(total_events) FROM metrics_streaming_daily')" "events counted by streaming"
audit_lambda
