#!/usr/bin/env bash
# Builds the validator's libFuzzer target with clang (ASan + UBSan) and runs
# it for a bounded time over the seed corpus (a copy: the committed corpus is
# not modified). Any crash it finds is kept in $OUT/crashes and must become a
# regression test in tests/unit/test_event.c.
#   tests/fuzz/run.sh [SECONDS]      (default 60)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SECONDS_TO_RUN=${1:-60}
OUT=${SG_FUZZ_OUT:-$SRC/build-fuzz}
mkdir -p "$OUT/work-corpus" "$OUT/crashes"
clang -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$SRC/common" "$SRC/tests/fuzz/fuzz_event.c" "$SRC/common/sg_event.c" \
  "$SRC/common/sg_mask.c" "$SRC/common/sg_uuid.c" "$SRC/common/sg_time.c" \
  "$SRC/common/sg_country.c" "$SRC/common/sg_defs.c" "$SRC/common/sg_log.c" \
  "$SRC/common/sg_signal.c" $(pkg-config --cflags --libs jansson libcrypto) -o "$OUT/fuzz_event"
cp -n "$SRC"/tests/fuzz/corpus/* "$OUT/work-corpus/" 2>/dev/null || true
"$OUT/fuzz_event" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$OUT/crashes/" -print_final_stats=1 "$OUT/work-corpus" 2>"$OUT/fuzz.log" || {
  tail -40 "$OUT/fuzz.log" >&2; echo "fuzz_event: crash found, see $OUT/crashes" >&2; exit 1; }
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/fuzz.log" | grep -o '[0-9]*$')
echo "fuzz_event: ${runs:-?} inputs in ${SECONDS_TO_RUN}s, no crash"
