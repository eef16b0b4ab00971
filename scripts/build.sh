#!/usr/bin/env bash
# Installs what is missing, then configures and builds closeloop in ./build
# (kept between runs; ccache makes rebuilds cheap).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=${CLOSELOOP_JOBS:-$(nproc)}
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${CLOSELOOP_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$jobs"
