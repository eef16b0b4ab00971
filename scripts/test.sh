#!/usr/bin/env bash
# Quick start 2: install, build, and run every test (unit, integration, e2e).
# Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
exec ctest --output-on-failure --timeout 600 -j"${CLOSELOOP_TEST_JOBS:-2}" "$@"
