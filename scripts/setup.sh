#!/usr/bin/env bash
# Installs every Debian 12 package closeloop needs to build, test, demo and
# benchmark. Idempotent: when everything is present it only checks and exits.
# `--build-only` installs just what compiling needs (deploy/Dockerfile's
# build stage uses it).
set -euo pipefail

# What `cmake` and `ninja` need to build every target.
build_packages=(
  build-essential cmake ninja-build pkg-config ccache git
  librdkafka-dev librocksdb-dev libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libyaml-cpp-dev libcli11-dev libcpp-httplib-dev
  libspdlog-dev libfmt-dev libabsl-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# What the tests, the Slack bot example, benchmarks and development use
# besides: kcat and python3-kafka as independent Kafka clients, python3-yaml
# to check the deployment files, prometheus for promtool (alert rule tests),
# gnuplot for the benchmark's scaling chart.
dev_packages=(
  kcat python3 python3-kafka python3-yaml prometheus gnuplot-nox
  clang clang-format clang-tidy
)

packages=("${build_packages[@]}")
if [ "${1:-}" != "--build-only" ]; then
  packages+=("${dev_packages[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
