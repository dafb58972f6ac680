#!/usr/bin/env bash
# Benchmark-sized runs of tests/integration/test_exactly_once.sh (measures and
# reports; the suite runs the small one): three replicas behind a random load
# balancer, a Telnyx-like sender (2 s timeout, retries after 1, 2, 4, 8 and
# 16 s, then it gives up), 3,000 events at 100/s, the poll leader restarted
# with SIGTERM, another replica killed -9, and the broker down for 20 s and,
# in a second run, for 90 s (longer than the sender's retries: the poll
# finishes what it gave up on). Each run reports lost and duplicated events
# by CloudEvents id across the event topics.
# Then the same on a three-node cluster whose partition leader is killed -9
# (back after 20 s) instead of the broker going down.
#   bench/exactly_once.sh [OUTAGES...]   (default: 20 90; PB_EO_NO_CLUSTER=1 skips the cluster)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
B=$(bash scripts/kafka-local.sh start)
outages=("$@")
[ ${#outages[@]} -gt 0 ] || outages=(20 90)
for o in "${outages[@]}"; do
  echo "== broker down ${o} s, ${PB_EO_COUNT:-3000} events at ${PB_EO_RATE:-100}/s"
  t0=$SECONDS
  PB_BIN=$PWD/build/portout-bridge PB_SOURCE_DIR=$PWD PB_KAFKA_BOOTSTRAP=$B \
    PB_EO_COUNT=${PB_EO_COUNT:-3000} PB_EO_RATE=${PB_EO_RATE:-100} PB_EO_OUTAGE_S=$o \
    PB_EO_BACKOFFS="1, 2, 4, 8, 16" bash tests/integration/test_exactly_once.sh 2>&1 |
    grep -E '^(ok|FAIL)' || true
  echo "($((SECONDS - t0)) s)"
done
if [ -z "${PB_EO_NO_CLUSTER:-}" ]; then
  echo "== three-node cluster, partition leader killed -9 for 20 s, ${PB_EO_COUNT:-3000} events at ${PB_EO_RATE:-100}/s"
  t0=$SECONDS
  PB_BIN=$PWD/build/portout-bridge PB_SOURCE_DIR=$PWD PB_KAFKA_BOOTSTRAP=$B PB_EO_CLUSTER=1 \
    PB_EO_COUNT=${PB_EO_COUNT:-3000} PB_EO_RATE=${PB_EO_RATE:-100} PB_EO_OUTAGE_S=20 \
    PB_EO_BACKOFFS="1, 2, 4, 8, 16" bash tests/integration/test_exactly_once.sh 2>&1 |
    grep -E '^(ok|FAIL)' || true
  echo "($((SECONDS - t0)) s)"
fi
