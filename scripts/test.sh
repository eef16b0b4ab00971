#!/usr/bin/env bash
# Quick start 2: install, build, and run every test (unit, integration, e2e,
# crash, bench smoke). Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
# CLOSELOOP_HARDENING=1 adds the hardening steps (README "Sanitizers and
# fuzzing"): the unit and integration tests under ASan+UBSan
# (scripts/sanitize.sh) and every fuzzer for CLOSELOOP_FUZZ_SECONDS (default
# 20; scripts/fuzz.sh). They are off by default until a full run of them has
# been measured inside the CI budget.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
(cd build && ctest --output-on-failure --timeout 600 -j"${CLOSELOOP_TEST_JOBS:-2}" "$@")
if [ "${CLOSELOOP_HARDENING:-0}" = 1 ] && [ $# -eq 0 ]; then
  ./scripts/sanitize.sh
  ./scripts/fuzz.sh "${CLOSELOOP_FUZZ_SECONDS:-20}"
fi
