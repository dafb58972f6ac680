#!/usr/bin/env bash
# Runs the libFuzzer target (webhook body -> verify -> envelope) under
# ASan+UBSan for a bounded time, seeded with the test fixtures.
#   scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPB_FUZZ=ON \
  -DPB_SANITIZE=ON -DPB_TESTS=OFF >/dev/null
cmake --build build-fuzz --target fuzz_webhook
corpus=build-fuzz/corpus
mkdir -p "$corpus"
cp tests/fixtures/*.json "$corpus/"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  build-fuzz/fuzz_webhook -max_total_time="$secs" -max_len=8192 -timeout=10 \
  -print_final_stats=1 "$corpus" 2>&1 | tail -15
