#!/usr/bin/env bash
# Builds every target with ASan+UBSan (CLOSELOOP_SANITIZE=ON) in ./build-asan
# and runs the unit and integration tests there. Any sanitizer report fails
# the test it happens in (UBSan does not recover; ASan aborts).
# Extra arguments go to ctest, e.g. `scripts/sanitize.sh -R ingest`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Warnings are the normal build's job; sanitizer instrumentation changes what
# GCC's flow analysis sees, so -Werror is off here.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLOSELOOP_SANITIZE=ON \
  -DCLOSELOOP_WERROR=OFF >/dev/null
cmake --build build-asan -j"${CLOSELOOP_JOBS:-$(nproc)}"
cd build-asan
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec ctest --output-on-failure --timeout 900 -j"${CLOSELOOP_TEST_JOBS:-$(( $(nproc) * 2 ))}" -L 'unit|integration' "$@"
