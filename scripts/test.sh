#!/usr/bin/env bash
# The whole test suite: sets everything up (packages, PostgreSQL, roles,
# schema), builds with AddressSanitizer + UndefinedBehaviorSanitizer, then
# runs every unit and integration test with ctest. Extra arguments go to
# ctest (e.g. scripts/test.sh -R raw_store).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/setup.sh" --asan

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$ROOT/build-asan"
exec ctest --output-on-failure -j2 "$@"
