#!/usr/bin/env bash
# Brings the whole pipeline up on its defaults, on a fresh Debian 12 machine or
# a warm one: dependencies, build, a local Kafka broker, the bridge daemon
# (`portout-bridge run`: webhooks on :8080, health and metrics on :8081, as
# the configuration says) with a development signing key,
# signed sample webhooks and a replayed REST sample flowing into their topics,
# printed as they landed. Idempotent: a second run restarts the bridge with
# the fresh build and sends the samples again (same ids: answered "duplicate").
#   scripts/up.sh        bring it up
#   scripts/up.sh down   stop the bridge, and the broker if up.sh started it
#                        (one that ran before, e.g. the test suite's, is left)
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=${XDG_CACHE_HOME:-$HOME/.cache}/portout-bridge
PIDFILE=$STATE/bridge.pid
OWNED=$STATE/kafka.started-by-up
step() { printf '\n==> %s\n' "$*"; }

stop_bridge() {
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 50); do kill -0 "$(cat "$PIDFILE")" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$PIDFILE"
}

if [ "${1:-}" = down ]; then
  stop_bridge
  if [ -f "$OWNED" ]; then
    bash scripts/kafka-local.sh stop; rm -f "$OWNED"
  else
    echo "up.sh: the Kafka broker was running before up.sh: left running" >&2
  fi
  exit 0
fi

step "dependencies"
bash scripts/install-deps.sh

step "build"
bash scripts/build.sh build
BIN=$PWD/build/portout-bridge

step "local Kafka broker"
mkdir -p "$STATE"
bash scripts/kafka-local.sh status > /dev/null 2>&1 || touch "$OWNED" # ours to stop at `down`
BOOTSTRAP=$(bash scripts/kafka-local.sh start)
export KAFKA_BROKERS=$BOOTSTRAP

step "development signing key (the bridge trusts its public half)"
mkdir -p "$STATE"
TELNYX_PUBLIC_KEY=$(node scripts/webhook-dev.js keygen "$STATE/dev-keys")
export TELNYX_PUBLIC_KEY
echo "public key: $TELNYX_PUBLIC_KEY  (private: $STATE/dev-keys/dev-private.pem)"

step "the bridge: portout-bridge run (log: $STATE/bridge.log)"
stop_bridge
from=$(wc -l < "$STATE/bridge.log" 2>/dev/null || echo 0)
nohup "$BIN" -c conf/portout-bridge.conf run >> "$STATE/bridge.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
# Every URL from what this run says it listens on (the configuration's
# addresses, ports and webhook path), not from assumptions.
for _ in $(seq 1 150); do
  tail -n +"$((from + 1))" "$STATE/bridge.log" | grep 'msg="running' >/dev/null && break
  kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -20 "$STATE/bridge.log"; echo "the bridge exited" >&2; exit 1; }
  sleep 0.2
done
log=$(tail -n +"$((from + 1))" "$STATE/bridge.log")
ADMIN_PORT=$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' <<< "$log" | tail -1)
HOOK_PORT=$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' <<< "$log" | tail -1)
HOOK_PATH=$(sed -n 's/.*webhook paths \([^ ,;]*\).*/\1/p' <<< "$log" | tail -1)
[ -n "$ADMIN_PORT" ] && [ -n "$HOOK_PORT" ] && [ -n "$HOOK_PATH" ] \
  || { tail -20 "$STATE/bridge.log"; echo "cannot tell where the bridge listens" >&2; exit 1; }
ADMIN=http://127.0.0.1:$ADMIN_PORT
HOOK=http://127.0.0.1:$HOOK_PORT$HOOK_PATH
for _ in $(seq 1 150); do curl -sf "$ADMIN/readyz" >/dev/null && break; sleep 0.2; done
curl -s "$ADMIN/readyz"; echo

step "posting signed sample webhooks to $HOOK"
node scripts/webhook-dev.js post "$HOOK" \
  "$STATE/dev-keys/dev-private.pem" tests/fixtures/webhook-*.json
echo '--- an unsigned request is refused:'
curl -s -w ' (HTTP %{http_code})\n' -X POST "$HOOK" \
  -H 'content-type: application/json' -d @tests/fixtures/webhook-new-comment.json

step "replaying REST-shaped samples (tests/fixtures/rest-*.json)"
"$BIN" -c conf/portout-bridge.conf replay tests/fixtures/rest-*.json

step "what landed: the newest records of each topic, read back with kcat"
for t in telnyx.portouts.status-changed telnyx.portouts.foc-date-changed telnyx.portouts.new-comment; do
  echo "--- $t"
  kcat -C -b "$BOOTSTRAP" -t "$t" -o -2 -e -q \
       -f 'partition %p offset %o key=%k\n  headers: %h\n  value: %s\n'
done

cat <<MSG

The pipeline is up.
  Kafka:      $BOOTSTRAP (topics telnyx.portouts.*)
  Bridge:     $HOOK  (pid $(cat "$PIDFILE"), log $STATE/bridge.log)
  Health:     curl $ADMIN/readyz ; curl $ADMIN/metrics
  Post more:  node scripts/webhook-dev.js post $HOOK $STATE/dev-keys/dev-private.pem FILE.json
  Watch:      kcat -C -b $BOOTSTRAP -t telnyx.portouts.status-changed -o beginning
  Stop all:   scripts/up.sh down
MSG
