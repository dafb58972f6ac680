#!/usr/bin/env bash
# A transactional writer in the bridge's topics (issue 30, finding 4), as
# MirrorMaker 2 with exactly-once, Kafka Connect's exactly-once sources or a
# shared dead-letter topic bring: a real transactional producer (librdkafka's,
# tests/tools/txn_producer.c) writes a committed and an aborted transaction
# into the dead-letter and "other" topics, and holds a third open for 20 s.
# Transaction markers and aborted records take offsets and are never handed
# to a reader: the index, reading to the ends by records alone, never got
# there, /readyz stayed "index":"loading" on every replica and every
# webhook was answered 503 kafka_view_behind. Now:
#   - two replicas started after those transactions are ready within 30 s,
#     while the third is open;
#   - a webhook is delivered, and its retry at the other replica is answered
#     duplicate (the index, read_committed, knows it);
#   - an unusable event is dead-lettered, and its retry at the same replica
#     answered duplicate;
#   - the index's load of ids past dedupe.entries is counted as evictions
#     (issue 30, finding 12: the load's were not).
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; [ -n "${B2:-}" ] && kill $B2 2>/dev/null; [ -n "${TXN:-}" ] && kill $TXN 2>/dev/null; work_done' EXIT
: "${PB_TXN_PRODUCER:?PB_TXN_PRODUCER must point at tests/tools/txn_producer}"
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; };
dedupe = { entries = 3; };
CONF
# Five ids already in Kafka for the index's load, two past dedupe.entries.
for i in 1 2 3 4 5; do
  echo '{}' | kcat -P -b "$BOOTSTRAP" -t "$(topic status-changed)" -H "ce_id=preloaded-$i" -k po-1
done
TOPICS="$(topic dlq),$(topic other)"
# The topics exist first (as a shared one would), three partitions each.
for t in dlq other; do
  kcat -P -b "$BOOTSTRAP" -t "$(topic $t)" -p 0 <<< '{"seed":1}' 2>/dev/null || true
done
"$PB_TXN_PRODUCER" "$BOOTSTRAP" "it-txn-$RUN_ID" "$TOPICS" commit abort hold=20 > "$WORK/txn.out" 2>&1 &
TXN=$!
for _ in $(seq 1 300); do grep -q "holding" "$WORK/txn.out" && break; sleep 0.1; done
grep -q "holding" "$WORK/txn.out" || { cat "$WORK/txn.out"; fail "the transactional producer did not get going"; }
cat "$WORK/txn.out"

# Two replicas, started while the third transaction is open.
t0=$(date +%s)
start_bridge "$WORK/bridge.conf"
B1=$BASE; ADMIN1=$ADMIN
"$PB_BIN" -c "$WORK/bridge.conf" run > "$WORK/bridge2.log" 2>&1 &
B2=$!
for _ in $(seq 1 300); do grep -qE 'msg="running|"msg":"running' "$WORK/bridge2.log" && break; sleep 0.1; done
ADMIN2="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/bridge2.log" | head -1)"
BASE2="http://127.0.0.1:$(sed -n 's/.*msg"*[=:]"listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$WORK/bridge2.log" | head -1)"
for a in "$ADMIN1" "$ADMIN2"; do
  until curl -sf "$a/readyz" > /dev/null 2>&1; do
    [ $(( $(date +%s) - t0 )) -lt 30 ] || { curl -s "$a/readyz"; echo; fail "$a not ready within 30 s of start (a transaction in the topics)"; }
    sleep 0.2
  done
done
took=$(( $(date +%s) - t0 ))
kill -0 $TXN 2>/dev/null || fail "the open transaction ended before the replicas were ready"
pass "two replicas ready in $took s with a committed, an aborted and an open transaction in two of their topics"
# Nothing sent yet: what the metric says is the load's (5 ids, 3 kept).
# (Read until it shows: on the sanitizer binary the count came a moment
# after /readyz once.)
ev=
for _ in $(seq 1 50); do
  ev=$(curl -s "$ADMIN2/metrics" | sed -n 's/^portout_bridge_index_evicted_total \([0-9]*\)$/\1/p')
  [ -n "$ev" ] && break; sleep 0.2
done
[ "${ev:-missing}" = 2 ] || fail "the index's evictions at its load: ${ev:-missing}, want 2"
pass "the index's load past dedupe.entries: $ev evictions counted"

# A webhook delivered by one replica; its retry at the other is a duplicate.
out=$(post_signed "$B1/webhooks/telnyx/portouts" "$FIX/webhook-status-changed.json")
[[ $out == 200*delivered* ]] || fail "webhook: $out"
for _ in $(seq 1 20); do
  out=$(post_signed "$BASE2/webhooks/telnyx/portouts" "$FIX/webhook-status-changed.json")
  [[ $out == 503* ]] || break
  sleep 0.5
done
[[ $out == 200*duplicate* ]] || fail "the retry at the other replica: $out"
# An unusable event (no port-out id) into the dead-letter topic, whose
# transaction is still open: dead-lettered, and its retry a duplicate.
python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); del d["data"]["payload"]["id"]; d["data"]["id"] = "txn-dl-1"
sys.stdout.write(json.dumps(d))' "$FIX/webhook-status-changed.json" > "$WORK/dl.json"
out=$(post_signed "$B1/webhooks/telnyx/portouts" "$WORK/dl.json")
[[ $out == 200*dead_lettered* ]] || fail "unusable event: $out"
out=$(post_signed "$B1/webhooks/telnyx/portouts" "$WORK/dl.json")
[[ $out == 200*duplicate* ]] || fail "its retry: $out"
pass "webhooks answered while a transaction is open: delivered, then duplicate at the other replica; dead-lettered, then duplicate"
wait $TXN || fail "the transactional producer failed: $(cat "$WORK/txn.out")"
TXN=""
kill -TERM $B2; wait $B2 || fail "replica 2 exited $?"
B2=""
stop_bridge
check_sanitizers "$WORK/bridge.log" "$WORK/bridge2.log"
