#!/usr/bin/env bash
# acks=all only means something with replicas: a three-node KRaft cluster
# (replication factor 3, min.insync.replicas 2), webhooks at ~300/s from the
# fake Telnyx (signed, retried), and kill -9 of the node leading a partition
# of the status topic mid-load. Every webhook answered 200 must be in Kafka
# afterwards, read back from the surviving nodes.
source "$(dirname "$0")/lib.sh"
CPORT=$((19092 + ${PB_IT_PORT_OFFSET:-0}))
kc() { KAFKA_NODES=3 KAFKA_PORT=$CPORT KAFKA_HEAP=512m bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" "$@"; }
trap 'trap - ERR; stop_bridge || true; stop_fake; KAFKA_STOP_SIGNAL=KILL kc reset >/dev/null 2>&1 || true; work_done' EXIT
kc reset >/dev/null 2>&1 || true
BOOTSTRAP=$(kc start)
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 0
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; };
CONF
start_bridge "$WORK/bridge.conf"
T=$(topic status-changed)
# Auto-created by the bridge's warm-up; on a loaded machine its metadata may
# take a moment to show every replica.
for _ in $(seq 1 60); do
  kcat -L -b "$BOOTSTRAP" -t "$T" 2>/dev/null | grep 'replicas: [0-9],[0-9],[0-9]' >/dev/null && break
  sleep 0.5
done
kcat -L -b "$BOOTSTRAP" -t "$T" | grep 'replicas: [0-9],[0-9],[0-9]' > /dev/null || { kcat -L -b "$BOOTSTRAP" -t "$T" >&2 || true; fail "topic $T is not replicated 3 times"; }
curl -sf -X POST "$FAKE/_admin/webhooks/start" \
  -d "{\"url\": \"$BASE/hook\", \"key\": \"$WORK/keys/dev-private.pem\", \"rate\": 300, \"count\": 1000000, \"threads\": 16}" > /dev/null
sender_acked 600 # mid-load
victim=$(kc leader "$T" 0)
[ -n "$victim" ] || fail "no leader for $T/0"
kc kill-node "$victim"
# KRaft fences a dead broker after broker.session.timeout.ms (9 s): until
# then partition 0 has no live leader, its webhooks get 503 and Telnyx
# retries them. The load goes on until another node leads it, and a while
# after (300 more acknowledged).
moved() { local l; l=$(kc leader "$T" 0); [ -n "$l" ] && [ "$l" != "$victim" ] && [ "$l" != -1 ]; }
wait_for 60 "a new leader for $T/0" moved
n0=$(sender_summary | python3 -c 'import json,sys; print(json.load(sys.stdin)["acked_count"])')
sender_acked $((n0 + 300))
curl -sf -X POST "$FAKE/_admin/webhooks/finish" > /dev/null
sender_done 120
curl -sf "$FAKE/_admin/webhooks" > "$WORK/acked.json"
after=$(kc leader "$T" 0)
stop_bridge || fail "stop: exit $?"
check_sanitizers "$WORK/bridge.log"
event_ids > "$WORK/ids"
python3 - "$WORK/acked.json" "$WORK/ids" "$victim" "$after" <<'PY' || fail "acknowledged events lost with the leader"
import collections, json, sys
r = json.load(open(sys.argv[1]))
count = collections.Counter(l.strip() for l in open(sys.argv[2]) if l.strip())
lost = [i for i in r["acked"] if i not in count]
dups = sum(n - 1 for n in count.values() if n > 1)
print(f"leader of partition 0 was node {sys.argv[3]}, then node {sys.argv[4] or '?'}; "
      f"{len(r['acked'])} webhooks answered 200 ({r['attempts']} attempts, statuses {r['status']}); "
      f"{len(count)} distinct in Kafka, {dups} duplicate record(s)")
assert r["done"], "Telnyx's retries did not all end in a 200"
assert len(r["acked"]) > 2000, "the load did not happen"
assert not lost, f"answered 200 but not in Kafka: {lost[:10]}"
PY
pass "three-node cluster, partition leader (node $victim) killed -9 under load: every acknowledged webhook is in Kafka"
