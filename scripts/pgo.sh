#!/usr/bin/env bash
# Records the matcher's profile for profile-guided optimization (bench/README.md,
# "Profile-guided optimization"): builds bench_matcher in ./build-pgo with an
# instrumented closeloop_matcher (CLOSELOOP_PGO=GENERATE), replays the training
# company once (`bench_matcher --train`), and leaves the profile in
# ./build/pgo-profile. Its stamp changes only when the profile does, so an
# unchanged matcher is not recompiled. Called by scripts/build.sh and
# scripts/bench.sh; setup.sh must have run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${CLOSELOOP_JOBS:-$(nproc)}
recorded=$PWD/build-pgo/profile
profile=$PWD/build/pgo-profile
cmake -S . -B build-pgo -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLOSELOOP_PGO=GENERATE \
  -DCLOSELOOP_PGO_DIR="$recorded" >/dev/null
cmake --build build-pgo -j"$jobs" --target bench_matcher
# Counts add up across runs: start from none. The profile records some
# pointer values, and the same run must give the same profile: so without
# address randomization (setarch -R, where allowed) and with an empty
# environment, whose size would move the stack.
rm -rf "$recorded"
train=(env -i build-pgo/bench/bench_matcher --train)
if setarch -R true 2>/dev/null; then train=(setarch -R "${train[@]}"); fi
"${train[@]}"
if [ -f "$profile/profile.stamp" ] && diff -rq -x profile.stamp "$recorded" "$profile" >/dev/null; then
  echo "pgo.sh: profile unchanged"
  exit 0
fi
rm -rf "$profile"
mkdir -p "$(dirname "$profile")"
cp -r "$recorded" "$profile"
touch "$profile/profile.stamp"
echo "pgo.sh: new profile in $profile ($(find "$profile" -name '*.gcda' | wc -l) files)"
