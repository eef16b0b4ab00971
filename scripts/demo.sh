#!/usr/bin/env bash
# Quick start 1: install, build, and run the demo on the embedded Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
exec ./build/app/closeloop demo "$@"
