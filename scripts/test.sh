#!/usr/bin/env bash
# Quick start 2: install, build, and run every test (unit, integration, e2e,
# crash, bench smoke), then the hardening steps (README "Sanitizers and
# fuzzing"): the unit and integration tests under ASan+UBSan
# (scripts/sanitize.sh), the threaded parts under TSan (scripts/tsan.sh) and
# every fuzzer for CLOSELOOP_FUZZ_SECONDS (default 30; scripts/fuzz.sh).
# Extra arguments go to ctest and skip the hardening steps, e.g.
# `scripts/test.sh -L unit`; CLOSELOOP_HARDENING=0 skips them too.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests run two per core (CLOSELOOP_TEST_JOBS to change): most of their time
# is spent waiting for brokers, timers and child processes, not computing.
export CLOSELOOP_TEST_JOBS=${CLOSELOOP_TEST_JOBS:-$(( $(nproc) * 2 ))}
./scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j"$CLOSELOOP_TEST_JOBS" "$@")
if [ "${CLOSELOOP_HARDENING:-1}" = 1 ] && [ $# -eq 0 ]; then
  for step in "./scripts/sanitize.sh" "./scripts/tsan.sh" \
              "./scripts/fuzz.sh ${CLOSELOOP_FUZZ_SECONDS:-30}"; do
    start=$(date +%s)
    $step
    echo "test.sh: $step took $(( $(date +%s) - start ))s"
  done
fi
