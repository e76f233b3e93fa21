#!/usr/bin/env bash
# bench/run --quick produces a RESULTS.md-style report in which every
# figure is a number, on a real Apache Kafka with the Kafka Connect peer
# (on sg-broker when SG_TEST_KAFKA=off). No
# timing assertion: the run's duration is reported only.
source "$(dirname "$0")/lib.sh"

out=$T/RESULTS.md
start=$(date +%s)
# bench/run starts its own brokers (sg-broker, and a real Apache Kafka with
# scripts/kafka.sh) and uses its own database: it ignores the
# SG_BROKER_FILE and PG_DSN this harness exported. It runs the build under
# test (the suite's sanitizer build): this checks the harness and its
# report, not the figures, which only a bench/run on the optimized build/
# gives. A subset, on one broker, to keep the suite short (the 20-minute
# budget): sg-generate and sg-stream-metrics share their harness code with
# sg-raw-store, and the two brokers differ in the harness only in how one
# is started (bench/run --broker both runs every row on each).
BENCH_BIN=$SG_BIN
BROKER_OPT=kafka
if [ "${SG_TEST_KAFKA:-on}" = off ]; then BROKER_OPT=embedded; log "SG_TEST_KAFKA=off: sg-broker only"; fi
# memory is left out (about 40 s: a fresh broker, two idle joins and a
# preload); the full bench/run measures it.
ONLY=parse,raw-store,compliance,e2e,gdpr,batch,peer
"$SG_SRC/bench/run" --quick --runs 2 --broker "$BROKER_OPT" --only "$ONLY" --out "$out" --bin "$BENCH_BIN" \
  --db "${SG_TEST_DB_PREFIX:-}sgit_bench_quick" >"$T/bench.log" 2>&1 || { tail -30 "$T/bench.log" >&2; fail "bench/run --quick exited non-zero"; }
took=$(( $(date +%s) - start ))
log "bench/run --quick took ${took}s (not asserted)"
[ -s "$out" ] || fail "no report at $out"
pass "report written"

for section in '## Machine' '## Results' '## How each figure is measured'; do
  grep -qxF "$section" "$out" || fail "report lacks '$section'"
done
grep -qF 'bench/run --quick' "$out" || fail "report does not show the command that produced it"
grep -Eq '^\| cores \(nproc\) \| [0-9]+ \|$' "$out" || fail "machine table lacks the core count"
grep -Eq '^\| synchronous_commit \| on \|$' "$out" || fail "PostgreSQL settings lack synchronous_commit = on"
pass "header, machine and settings sections"

# The results table: | measurement | broker | figure | N | runs | median |
# spread | ceiling | ceiling median | ceiling spread | ratio | target |
# result |
table=$T/table.txt
awk '/^\| measurement \| broker \| figure \|/ { on = 1; next } on && /^\|---/ { next } on && /^\|/ { print; next } on { exit }' \
  "$out" >"$table"
brokers="Kafka"
[ "$BROKER_OPT" = embedded ] && brokers="sg-broker"
for b in $brokers; do
  for m in 'sg-raw-store' 'sg-compliance' 'end to end' 'sg-gdpr'; do
    grep -q "^| $m | $b" "$table" || fail "no result row for '$m' on $b"
  done
  assert_eq 2 "$(grep -c "^| end to end | $b[^|]* | p" "$table")" "end to end rows on $b (p50, p99)"
  assert_eq 2 "$(grep -c "^| sg-compliance | $b" "$table")" "sg-compliance rows on $b (throughput, detection latency)"
done
grep -q '^| sg-batch-metrics | — |' "$table" || fail "no sg-batch-metrics row (no broker)"
pass "rows for every measurement on every broker"

bad=$(awk -F' *\\| *' '
  function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/ }
  function range(x,  a) { return split(x, a, "–") == 2 && num(a[1]) && num(a[2]) }
  {
    # $1 is empty (the line starts with "|"); fields 2..14 are the columns.
    why = ""
    if (!num($5)) why = why " N"
    if (!num($6) || ($6 < 2 && $2 !~ /^memory /)) why = why " runs"   # --runs 2; memory: --mem-runs (1)
    if (!num($7)) why = why " median"
    if (!range($8)) why = why " spread"
    if ($9 != "—") {
      if (!num($10)) why = why " ceiling-median"
      if (!range($11)) why = why " ceiling-spread"
      if ($13 != "—" && !num($12)) why = why " ratio"
    }
    if ($14 !~ /^(PASS|MISS|info)$/) why = why " result"
    if (why != "") print $2 " / " $3 " / " $4 ":" why
  }' "$table")
[ -z "$bad" ] || fail "cells that are not numbers: $bad"
pass "every figure cell of $(wc -l <"$table") rows is a number (runs >= 2, memory >= 1)"
grep -qi 'nan' "$table" && fail "a figure is NaN"
pass "no NaN"

if [ "$BROKER_OPT" = kafka ]; then
  grep -qxF '## Peers' "$out" || fail "report lacks the Peers section"
  peer=$(grep '^| Kafka Connect + Debezium JDBC sink (peer) | Kafka' "$out" || true)
  [ -n "$peer" ] || fail "no Kafka Connect peer row"
  awk -F' *\\| *' '{ exit !($7 ~ /^[0-9.]+$/ && $10 ~ /^[0-9.]+$/ && $12 ~ /^[0-9.]+$/) }' <<<"$peer" \
    || fail "peer row without numbers: $peer"
  grep -q 'value.converter.schema.content' "$out" || fail "the report does not say which converter settings the peer used"
  pass "Kafka Connect peer row: its rate, sg-raw-store's and the ratio, and its settings"
fi
