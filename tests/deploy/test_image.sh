#!/usr/bin/env bash
# The container image builds from this checkout (multi-stage; here without
# the build stage's unit tests, which the suite has just run on the same
# Debian 12: scripts/test.sh builds it so beside the integration tests, and
# says so in PB_IMAGE_BUILT_BY_SUITE; alone, this test builds it), and runs:
# its own filesystem, as its non-root user, its HEALTHCHECK answers, a signed
# webhook lands in Kafka.
source "$(dirname "$0")/lib.sh"
need podman; need mmdebstrap
[ -n "${PB_KAFKA_BOOTSTRAP:-}" ] || { echo "SKIP: PB_KAFKA_BOOTSTRAP is not set"; exit 77; }
if [ "${PB_IMAGE_BUILT_BY_SUITE:-0}" = 1 ]; then
  # scripts/test.sh built it from this checkout beside the integration tests.
  bash scripts/image.sh size | tee "$WORK/size"
  pass "image built from deploy/Containerfile beside the integration tests: $(cat "$WORK/size")"
else
  PB_IMAGE_UNIT_TESTS=${PB_IMAGE_UNIT_TESTS:-0} bash scripts/image.sh build | tee "$WORK/size"
  pass "image built from deploy/Containerfile: $(cat "$WORK/size")"
fi
bash scripts/image.sh smoke 2>&1 | tee "$WORK/smoke" | tail -1
grep -q '^image: ok:' "$WORK/smoke" || fail "smoke"
pass "the image runs as non-root, answers its HEALTHCHECK and delivers a signed webhook to Kafka"
