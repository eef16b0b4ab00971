#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, CLOSELOOP_FUZZ=ON, clang, ASan+UBSan)
# in ./build-fuzz and runs each for SECONDS (default 60) on its seed corpus
# fuzz/corpus/<target>. New inputs go to build-fuzz/corpus/<target> (the
# committed seeds are only read); a crash leaves its input in
# build-fuzz/artifacts/ and makes this script fail.
#   scripts/fuzz.sh [SECONDS] [TARGET...]    e.g. scripts/fuzz.sh 20 fuzz_parse
# CLOSELOOP_FUZZ_JOBS (default 1) runs that many fuzzing processes per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_decode_json fuzz_decode_protobuf fuzz_decode_confluent fuzz_command
           fuzz_debezium fuzz_salesforce_cdc fuzz_config fuzz_parse)
fi
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCLOSELOOP_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"${CLOSELOOP_JOBS:-$(nproc)}" --target "${targets[@]}"
mkdir -p build-fuzz/artifacts
parallel=()
if [ "${CLOSELOOP_FUZZ_JOBS:-1}" -gt 1 ]; then
  parallel=(-jobs="$CLOSELOOP_FUZZ_JOBS" -workers="$CLOSELOOP_FUZZ_JOBS")
fi
failed=()
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  # -rss_limit_mb bounds memory as the service must; -timeout makes one slow
  # input a finding (libFuzzer checks -max_total_time only between inputs, so
  # without it a stalled input runs for 20 minutes); -max_len covers the
  # records in the seeds (Limits in the targets cap what is decoded).
  if ! (cd build-fuzz && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        timeout $((seconds + 120)) \
        "./fuzz/$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="artifacts/$t-" "${parallel[@]}" \
        "corpus/$t" "../fuzz/corpus/$t" 2>&1 | tee "artifacts/$t.log" \
        | grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|artifact_prefix)" ); then
    :
  fi
  # libFuzzer writes "==PID== ERROR: libFuzzer: out-of-memory" or "timeout"
  # (with a space); the sanitizers "==PID==ERROR". A run that ends without its
  # final stats was killed by `timeout`.
  if grep -qE "==[0-9]+== ?ERROR|^SUMMARY|deadly signal|Test unit written" "build-fuzz/artifacts/$t.log" \
      || ! grep -q "^stat::number_of_executed_units" "build-fuzz/artifacts/$t.log"; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in build-fuzz/artifacts/, logs in build-fuzz/artifacts/*.log)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a crash"
