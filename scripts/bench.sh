#!/usr/bin/env bash
# Runs every closeloop benchmark once on this machine and writes
# bench/results/latest.json, latest.md and scaling.png (bench/README.md).
#   scripts/bench.sh           full run, about 15 minutes (13.4 on 2026-12-04)
#   scripts/bench.sh --quick   every part with tiny sizes, seconds
#   scripts/bench.sh --huge    also 10M deals in state, 9.9M of them prebuilt at rest (about 20 minutes more)
# Other flags go to bench/run_all.py (e.g. --out DIR). Run it on an idle
# machine: the figures are wall-clock and CPU times.
set -euo pipefail
cd "$(dirname "$0")/.."
CLOSELOOP_JOBS=${CLOSELOOP_JOBS:-2} ./scripts/build.sh closeloop bench_e2e bench_matcher bench_decode
exec /usr/bin/python3 bench/run_all.py --build-dir build "$@"
