#!/usr/bin/env bash
# The container image builds as a user builds it: a copy of the checkout's
# tracked files (what a fresh clone holds: no deploy/.sources, no build
# trees) and the plain `podman build -f deploy/Containerfile .`, its build
# stage's unit tests included; nothing staged, so the build fetches the
# pinned librdkafka source and checks it itself (scripts/image.sh
# build-fresh; scripts/test.sh runs it beside the integration tests and says
# so in PB_IMAGE_BUILT_BY_SUITE; alone, this test builds it). Then the image
# runs as it declares itself: its own filesystem, its USER, ENV, ENTRYPOINT
# and CMD, its HEALTHCHECK command; a signed webhook lands in Kafka.
source "$(dirname "$0")/lib.sh"
need podman; need mmdebstrap
[ -n "${PB_KAFKA_BOOTSTRAP:-}" ] || skip "PB_KAFKA_BOOTSTRAP is not set"
if [ "${PB_IMAGE_BUILT_BY_SUITE:-0}" = 1 ]; then
  # scripts/test.sh built it so from this checkout beside the integration tests.
  bash scripts/image.sh size | tee "$WORK/size"
else
  bash scripts/image.sh build-fresh | tee "$WORK/size"
fi
pass "image built from a fresh copy with podman build -f deploy/Containerfile .: $(cat "$WORK/size")"
bash scripts/image.sh smoke 2>&1 | tee "$WORK/smoke" | tail -1
grep -q '^image: ok:' "$WORK/smoke" || fail "smoke"
pass "the image runs as it declares (USER, ENV, ENTRYPOINT, CMD), non-root, its HEALTHCHECK command answers, and a signed webhook lands in Kafka"
