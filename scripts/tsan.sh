#!/usr/bin/env bash
# Builds the threaded parts with ThreadSanitizer (CLOSELOOP_TSAN=ON, GCC) in
# ./build-tsan and runs their tests there: the HTTP server
# (http_server_test), the outbox publisher with librdkafka's threads
# (outbox_test), the text values copied across threads (matcher_test's
# Text.*), and `closeloop run` with its HTTP server beside the run
# loop (ops_e2e, stall_e2e, hostile, lost_records). A data race fails the
# test it happens in (halt_on_error). Extra arguments replace the default
# ctest selection, e.g. `scripts/tsan.sh -R http_server`.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLOSELOOP_TSAN=ON \
  -DCLOSELOOP_WERROR=OFF >/dev/null
cmake --build build-tsan -j"${CLOSELOOP_JOBS:-$(nproc)}" --target closeloop http_server_test outbox_test \
  matcher_test
cd build-tsan
# librdkafka is not instrumented; app/tsan_threads.cc makes its threads,
# mutexes and condition variables visible to TSan. tsan.supp lists what is
# still reported and not ours (each entry says why).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/../scripts/tsan.supp}
if [ $# -eq 0 ]; then
  set -- -R '^((HttpGuards|RateLimiter|ReadBearerToken|OutboxTest|Text)[.].*|ops_e2e|stall_e2e|hostile|lost_records)$'
fi
exec ctest --output-on-failure --timeout 900 -j"${CLOSELOOP_TEST_JOBS:-$(( $(nproc) * 2 ))}" "$@"
