#!/usr/bin/env bash
# Brings the whole pipeline up on its defaults, on a fresh Debian 12 machine or
# a warm one: dependencies, build, a local Kafka broker, the bridge, and sample
# Telnyx port-out events flowing into their topics, printed as they landed.
# Idempotent: a second run reuses the broker and publishes the samples again
# (same CloudEvents ids: consumers dedupe on source+id).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh

step "build"
bash scripts/build.sh build
BIN=$PWD/build/portout-bridge

step "local Kafka broker"
BOOTSTRAP=$(bash scripts/kafka-local.sh start)
export KAFKA_BROKERS=$BOOTSTRAP

step "configuration (conf/portout-bridge.conf)"
"$BIN" -c conf/portout-bridge.conf check-config | sed -n '1,12p'

step "replaying sample events (deploy/samples/portout-events.ndjson) into Kafka"
"$BIN" -c conf/portout-bridge.conf replay deploy/samples/portout-events.ndjson

step "what landed: the newest records of each topic, read back with kcat"
for t in telnyx.portouts.status-changed telnyx.portouts.foc-date-changed telnyx.portouts.new-comment; do
  echo "--- $t"
  kcat -C -b "$BOOTSTRAP" -t "$t" -o -2 -e -q \
       -f 'partition %p offset %o key=%k\n  headers: %h\n  value: %s\n'
done

cat <<MSG

The pipeline is up: Kafka at $BOOTSTRAP, topics telnyx.portouts.*.
  Watch a topic:   kcat -C -b $BOOTSTRAP -t telnyx.portouts.status-changed -o beginning
  Replay a file:   KAFKA_BROKERS=$BOOTSTRAP $BIN -c conf/portout-bridge.conf replay FILE.ndjson
  Stop the broker: scripts/kafka-local.sh stop
MSG
