#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine or a warm one:
#   dependencies, build, lint, unit tests (plain and ASan+UBSan), a local
#   Kafka broker, integration tests against it. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)

step "build (RelWithDebInfo)"
bash scripts/build.sh build -DPB_TESTS=ON

step "lint (clang-format, cppcheck, clang-tidy)"
bash scripts/lint.sh

step "unit tests"
ctest --test-dir build -L unit --no-tests=error --output-on-failure

step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPB_SANITIZE=ON >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L unit --no-tests=error --output-on-failure

step "fuzzing: webhook body -> envelope, ${PB_FUZZ_SECONDS:-60} s under ASan+UBSan"
bash scripts/fuzz.sh "${PB_FUZZ_SECONDS:-60}"

step "local Kafka broker"
# Stop it afterwards only if this run started it.
if ! bash scripts/kafka-local.sh status >/dev/null 2>&1; then
  trap 'bash scripts/kafka-local.sh stop' EXIT
fi
PB_KAFKA_BOOTSTRAP=$(bash scripts/kafka-local.sh start)
export PB_KAFKA_BOOTSTRAP

step "integration tests (real binary, real broker at $PB_KAFKA_BOOTSTRAP)"
ctest --test-dir build -L integration --no-tests=error --output-on-failure

step "integration tests again, against the ASan+UBSan binary"
# A sanitizer report aborts the bridge (and check_sanitizers fails the test).
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -L integration --no-tests=error --output-on-failure

step "all tests passed"
