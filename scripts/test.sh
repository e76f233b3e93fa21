#!/usr/bin/env bash
# The whole test suite: sets everything up (packages, PostgreSQL, roles,
# schema, a real Apache Kafka), builds build-asan/ (AddressSanitizer +
# UndefinedBehaviorSanitizer; the release build/ is the demo's and the
# benchmarks', not built here), then runs every unit and integration test
# with ctest, on both brokers: sg-broker (embedded) and a real Apache Kafka
# (the tests labelled kafka; each starts its own broker with
# scripts/kafka.sh). Extra arguments go to ctest (e.g. scripts/test.sh -R
# raw_store, or -L kafka for the real-broker lane only).
#
# SG_TEST_KAFKA=off turns the real-broker lane off (ctest lists those tests
# as skipped). If a real Kafka cannot be installed, the embedded lane runs
# and the suite fails, saying why.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${SG_TEST_KAFKA:-on}" = off ]; then
  "$ROOT/scripts/setup.sh" --asan --no-kafka
else
  "$ROOT/scripts/setup.sh" --asan
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$ROOT/build-asan"
if [ "${SG_TEST_KAFKA:-on}" != off ] && [ -s "$ROOT/.sg/kafka-unavailable" ]; then
  reason=$(cat "$ROOT/.sg/kafka-unavailable")
  rc=0
  ctest --output-on-failure -j2 -LE kafka "$@" || rc=$?
  echo "test.sh: FAILED: the real Apache Kafka lane could not run: $reason" >&2
  echo "test.sh: (SG_TEST_KAFKA=off runs the suite without it, and says so)" >&2
  exit 1
fi
rc=0
ctest --output-on-failure -j2 "$@" || rc=$?
if [ "${SG_TEST_KAFKA:-on}" = off ]; then
  echo "test.sh: note: SG_TEST_KAFKA=off: the real Apache Kafka lane was skipped" >&2
fi
exit "$rc"
