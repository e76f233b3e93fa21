#!/usr/bin/env bash
# bench/run --quick produces a RESULTS.md-style report in which every
# figure is a number. No timing assertion: the run's duration is reported
# only (the quick run is meant to take under 2 minutes).
source "$(dirname "$0")/lib.sh"

out=$T/RESULTS.md
start=$(date +%s)
# bench/run starts its own sg-broker and uses its own database: it ignores
# the SG_BROKER_FILE and PG_DSN this harness exported.
# Benchmarks measure the optimized build (scripts/setup.sh always builds
# build/), not the sanitizer build the rest of the suite runs.
BENCH_BIN=$SG_BIN
[ -x "$SG_SRC/build/bin/sg-raw-store" ] && BENCH_BIN=$SG_SRC/build/bin
"$SG_SRC/bench/run" --quick --out "$out" --bin "$BENCH_BIN" --db sgit_bench_quick \
  >"$T/bench.log" 2>&1 || { tail -30 "$T/bench.log" >&2; fail "bench/run --quick exited non-zero"; }
took=$(( $(date +%s) - start ))
log "bench/run --quick took ${took}s (meant to be under 120 s; not asserted)"
[ -s "$out" ] || fail "no report at $out"
pass "report written"

for section in '## Machine' '## Results' '## How each figure is measured'; do
  grep -qxF "$section" "$out" || fail "report lacks '$section'"
done
grep -qF 'bench/run --quick' "$out" || fail "report does not show the command that produced it"
grep -Eq '^\| cores \(nproc\) \| [0-9]+ \|$' "$out" || fail "machine table lacks the core count"
grep -Eq '^\| synchronous_commit \| on \|$' "$out" || fail "PostgreSQL settings lack synchronous_commit = on"
pass "header, machine and settings sections"

# The results table: | measurement | figure | N | runs | median | spread |
# ceiling | ceiling median | ceiling spread | ratio | target | result |
table=$T/table.txt
awk '/^\| measurement \| figure \|/ { on = 1; next } on && /^\|---/ { next } on && /^\|/ { print; next } on { exit }' \
  "$out" >"$table"
for m in 'sg-generate' 'sg-raw-store' 'sg-stream-metrics' 'end to end' 'sg-gdpr' 'sg-batch-metrics' \
         'memory sg-raw-store' 'memory sg-stream-metrics' 'memory sg-gdpr'; do
  grep -q "^| $m |" "$table" || fail "no result row for '$m'"
done
assert_eq 2 "$(grep -c '^| end to end | p' "$table")" "end to end rows (p50, p99)"
assert_eq 2 "$(grep -c '^| sg-gdpr | p' "$table")" "sg-gdpr rows (p50, p99)"

bad=$(awk -F' *\\| *' '
  function num(x) { return x ~ /^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$/ }
  function range(x,  a) { return split(x, a, "–") == 2 && num(a[1]) && num(a[2]) }
  {
    # $1 is empty (the line starts with "|"); fields 2..13 are the columns.
    why = ""
    if (!num($4)) why = why " N"
    if (!num($5) || $5 < 3) why = why " runs"
    if (!num($6)) why = why " median"
    if (!range($7)) why = why " spread"
    if ($8 != "—") {
      if (!num($9)) why = why " ceiling-median"
      if (!range($10)) why = why " ceiling-spread"
      if ($12 != "—" && !num($11)) why = why " ratio"
    }
    if ($13 !~ /^(PASS|MISS|info)$/) why = why " result"
    if (why != "") print $2 " / " $3 ":" why
  }' "$table")
[ -z "$bad" ] || fail "cells that are not numbers: $bad"
pass "every figure cell of $(wc -l <"$table") rows is a number (runs >= 3)"

grep -qi 'nan' "$table" && fail "a figure is NaN"
pass "no NaN"
