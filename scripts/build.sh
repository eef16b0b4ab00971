#!/usr/bin/env bash
# Installs what is missing, records the matcher's profile (scripts/pgo.sh),
# then configures and builds closeloop in ./build with it (kept between runs;
# ccache makes rebuilds cheap). CLOSELOOP_PGO=0 builds without the profile.
# Arguments name the targets to build (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
jobs=${CLOSELOOP_JOBS:-$(nproc)}
pgo=(-DCLOSELOOP_PGO= -DCLOSELOOP_PGO_DIR=)
if [ "${CLOSELOOP_PGO:-1}" = 1 ]; then
  ./scripts/pgo.sh
  pgo=(-DCLOSELOOP_PGO=USE -DCLOSELOOP_PGO_DIR="$PWD/build/pgo-profile")
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE="${CLOSELOOP_BUILD_TYPE:-RelWithDebInfo}" \
  "${pgo[@]}" >/dev/null
cmake --build build -j"$jobs" ${1:+--target "$@"}
