#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine or a warm one:
#   dependencies, build, lint, unit tests (plain and ASan+UBSan), fuzzing, a
#   local Kafka broker, the integration tests against it (plain and
#   ASan+UBSan), and the deployment forms (image, .deb, unit, manifests,
#   up.sh).
#   Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Each step says when it started (seconds into the run): where the time goes.
step() { printf '\n==> [%4d s] %s\n' "$SECONDS" "$*"; }
# A skip is a skip only when it is meant: every test reports one with an exit
# code no program of ours returns (98), and any skip not named in
# PB_ALLOWED_SKIPS (test names, space-separated; none in CI) fails the suite.
SKIPS_SEEN=$(mktemp); trap 'rm -f "$SKIPS_SEEN"' EXIT
check_skips() { # check_skips CTEST_LOG
  local t bad=0
  for t in $(sed -n 's/.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$1"); do
    echo "$t" >> "$SKIPS_SEEN"
    case " ${PB_ALLOWED_SKIPS:-} " in
      *" $t "*) echo "skipped, as allowed: $t" ;;
      *) echo "FAIL: $t was skipped (not in PB_ALLOWED_SKIPS)"; bad=1 ;;
    esac
  done
  return $bad
}

step "dependencies"
bash scripts/install-deps.sh
(cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
# The tests run python3 thousands of times (their fake API, consumers, and a
# check in many polling loops). Where python3 is a version manager's shim
# (pyenv: a bash script per call, 24+ CPU-s of a run), the interpreter it
# names is put first on the PATH: the same python3, with the packages
# install-deps.sh gave it, without the detour.
PY_DIR=$(dirname "$(python3 -c 'import sys; print(sys.executable)')")
[ "$(command -v python3)" = "$PY_DIR/python3" ] || export PATH="$PY_DIR:$PATH"

step "build (RelWithDebInfo)"
bash scripts/build.sh build -DPB_TESTS=ON

# Static checks and fuzzing are CPU work; the unit tests mostly wait (on
# mock brokers, deadlines): each pair runs side by side, reported in order,
# and the unit tests four at a time (measured beside lint: -j2 108 s, -j3 81,
# -j4 67, the longest test alone 56; under ASan beside fuzzing, 54 s at -j4
# against 100 at -j2).
step "unit tests, with lint (clang-format, cppcheck, clang-tidy) beside them"
( bash scripts/lint.sh > build/lint.log 2>&1 ) &
lint_pid=$!
unit_rc=0; ctest --test-dir build -L unit -j4 --no-tests=error --output-on-failure 2>&1 | tee build/unit.log || unit_rc=$?
check_skips build/unit.log || unit_rc=1
lint_rc=0; wait $lint_pid || lint_rc=$?
echo "--- lint:"; cat build/lint.log
[ $unit_rc -eq 0 ] && [ $lint_rc -eq 0 ] || { echo "unit tests ($unit_rc) or lint ($lint_rc) failed"; exit 1; }

step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, with fuzzing beside them (nine targets: webhook, normalize, REST page, config, HTTP framing, JSON members against json-c, records both ways, trace context, desk commands; ${PB_FUZZ_SECONDS:-6} s each: a smoke, the long runs are outside the suite)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DPB_SANITIZE=ON -DPB_IT_PORT_OFFSET=1000 >/dev/null
cmake --build build-asan
( bash scripts/fuzz.sh "${PB_FUZZ_SECONDS:-6}" > build-asan/fuzz.log 2>&1 ) &
fuzz_pid=$!
asan_unit_rc=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0 \
  ctest --test-dir build-asan -L unit -j4 --no-tests=error --output-on-failure 2>&1 | tee build-asan/unit.log || asan_unit_rc=$?
check_skips build-asan/unit.log || asan_unit_rc=1
fuzz_rc=0; wait $fuzz_pid || fuzz_rc=$?
echo "--- fuzzing:"; cat build-asan/fuzz.log
[ $asan_unit_rc -eq 0 ] && [ $fuzz_rc -eq 0 ] || { echo "ASan unit tests ($asan_unit_rc) or fuzzing ($fuzz_rc) failed"; exit 1; }

step "local Kafka broker"
# Every test broker (this one, the tests' own, the secured one) runs with C1
# only and the serial collector: 35-40% less CPU for short-lived JVMs on two
# cores (bench and up.sh keep Kafka's own defaults).
export KAFKA_JVM_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# Stop it afterwards only if this run started it. A broker this run starts
# starts on empty data: every run leaves its topics (about 1,000 partitions),
# and a data directory of many runs (7.6 GB, 7,500 partitions seen) made the
# start take 50 s and the whole suite a minute and a half longer. A broker
# that already runs (up.sh's, a developer's) is used as it is.
if ! bash scripts/kafka-local.sh status >/dev/null 2>&1; then
  trap 'bash scripts/kafka-local.sh stop' EXIT
  bash scripts/kafka-local.sh reset 2>/dev/null
fi
PB_KAFKA_BOOTSTRAP=$(bash scripts/kafka-local.sh start)
export PB_KAFKA_BOOTSTRAP

step "integration tests: the real binary, and the ASan+UBSan binary side by side (broker at $PB_KAFKA_BOOTSTRAP)"
# The two suites mostly wait (on brokers, clients, timeouts), so they run at
# once; tests with a broker of their own use other ports in build-asan. A
# sanitizer report aborts the bridge (and check_sanitizers fails the test).
# The container image builds meanwhile as a user builds it (deploy.image
# below then runs it): a fresh copy of the checkout and the plain `podman
# build -f deploy/Containerfile .`, nothing staged, its unit tests included;
# below the lanes' priority, since they wait on timers it does not.
( nice -n 10 bash scripts/image.sh build-fresh > build/image-build.log 2>&1 || echo "image build failed" >> build/image-build.log ) &
image_pid=$!
# Each lane runs two tests at a time, the longest first (their COST in
# tests/CMakeLists.txt): the tests wait more than they compute, but the two
# lanes together keep both cores busy for most of the step, so what one lane
# need not run, it leaves to the other. Under ASan the secured-Kafka test
# runs two SASL modes (the others differ only inside librdkafka, which is
# not instrumented) with every refusal; the plain lane runs the other modes,
# of the refusals only their give-up time (the promise is about the real
# binary's). The plain lane alone runs what tests librdkafka and the brokers
# rather than our code: the Kafka-versions smoke, and the three-node cluster
# whose partition leader is killed (the bridge's own code on a failed or
# retried delivery runs under ASan in webhook_durability, a broker stopped,
# and exactly_once, a three-node cluster through a broker outage); each is
# left out of the ASan lane, not skipped. That cluster on the ASan lane cost
# about 170 s of its time and three more JVMs beside everything else.
# Latency bounds get twice the room under ASan (PB_LATENCY_SLACK). The desk's
# fleet test carries out 20 commands of each type per batch there, 40 on the
# plain lane (142 s at 100 under ASan, and its load made other tests' bounds
# fail); bench/desk.sh --faults runs it with more.
( ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp:print_suppressions=0 \
    PB_SECURE_MODES="scram-512 oauthbearer" PB_LATENCY_SLACK=2 PB_DESK_COMMANDS=20 \
    ctest --test-dir build-asan -j2 -L integration -E '^integration\.(kafka_versions|cluster)$' \
      --no-tests=error --output-on-failure > build-asan/integration.log 2>&1 ) &
asan_pid=$!
plain_rc=0; PB_SECURE_MODES="scram-256 plain mtls" PB_SECURE_REFUSALS=timing \
  ctest --test-dir build -j2 -L integration --no-tests=error --output-on-failure 2>&1 \
  | tee build/integration.log || plain_rc=$?
asan_rc=0; wait $asan_pid || asan_rc=$?
echo "--- ASan+UBSan binary:"; cat build-asan/integration.log
check_skips build/integration.log || plain_rc=1
check_skips build-asan/integration.log || asan_rc=1
[ $plain_rc -eq 0 ] && [ $asan_rc -eq 0 ] || { echo "integration tests failed (plain $plain_rc, ASan $asan_rc)"; exit 1; }
wait $image_pid || true
# Built from this checkout a moment ago: deploy.image runs that image instead
# of building it again (a build whose every layer is cached still takes 1 to
# 3 minutes here: the vfs storage driver copies layers). A failed build fails
# the suite here, saying why.
if grep -q "image build failed" build/image-build.log; then
  tail -40 build/image-build.log; echo "the container image did not build"; exit 1
fi
export PB_IMAGE_BUILT_BY_SUITE=1

step "deployment: generated docs, manifests, systemd unit, .deb in a fresh chroot, container image built and run, up.sh in a fresh clone"
deploy_rc=0
ctest --test-dir build -L deploy -j2 --no-tests=error --output-on-failure 2>&1 | tee build/deploy.log || deploy_rc=$?
check_skips build/deploy.log || deploy_rc=1
[ $deploy_rc -eq 0 ] || { echo "deployment tests failed"; exit 1; }
echo "skips: $(sort -u "$SKIPS_SEEN" | wc -l) ($(sort -u "$SKIPS_SEEN" | tr '\n' ' '))"

step "all tests passed"
