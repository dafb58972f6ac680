#!/usr/bin/env bash
# The Kafka versions operators run: the smoke (signed webhooks, a replay,
# polling) against the oldest 3.x this suite's KRaft setup runs (3.3, the
# first with production KRaft; MSK still offers 3.x) and the newest 4.x
# Maven Central serves, each a broker of this test's own; the rest of the
# suite runs against 4.1.1, the reference version.
source "$(dirname "$0")/lib.sh"
VERSIONS=${PB_KAFKA_VERSIONS:-3.3.2 4.4.0}
[ "$VERSIONS" != none ] || skip "PB_KAFKA_VERSIONS=none"
PORT=$((9392 + ${PB_IT_PORT_OFFSET:-0}))
kv() { KAFKA_VERSION=$1 KAFKA_PORT=$PORT KAFKA_HEAP=512m bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" "${@:2}"; }
cur=""
trap 'trap - ERR; stop_bridge || true; stop_fake; [ -n "$cur" ] && KAFKA_STOP_SIGNAL=KILL kv "$cur" reset > /dev/null 2>&1; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
for v in $VERSIONS; do
  cur=$v
  kv "$v" reset > /dev/null 2>&1 || true
  BOOTSTRAP=$(kv "$v" start)
  RUN_ID=kv-$v-$(date +%s)-$RANDOM
  start_fake 20
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; };
telnyx = { poll_enabled = true; poll_interval_s = 1; poll_lookback_s = 31536000; poll_settle_s = 10;
           checkpoint_file = "$WORK/cp-$v.json"; retry_base_ms = 50; retry_max_ms = 200; };
CONF
  start_bridge "$WORK/bridge.conf"
  for f in webhook-status-changed webhook-foc-date-changed webhook-new-comment; do
    sed "s/\"id\":\"[^\"]*\",\"occurred_at\"/\"id\":\"$RUN_ID-$f\",\"occurred_at\"/" "$FIX/$f.json" > "$WORK/$f.json"
    out=$(post_signed "$BASE/webhooks/telnyx/portouts" "$WORK/$f.json")
    [[ $out == 200* ]] || { cat "$WORK/bridge.log"; fail "Kafka $v: webhook $f: $out"; }
  done
  printf '{"data":{"event_type":"portout.status_changed","id":"%s-replay","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-v","status":"ported"},"record_type":"event"}}\n' "$RUN_ID" > "$WORK/replay.ndjson"
  "$PB_BIN" -c "$WORK/bridge.conf" replay --quiet "$WORK/replay.ndjson" > "$WORK/replay.out" 2>&1 \
    || { cat "$WORK/replay.out"; fail "Kafka $v: replay"; }
  curl -sf "$FAKE/_admin/ids" | python3 -c 'import json,sys; [print(i) for i in json.load(sys.stdin)["ids"]]' | sort > "$WORK/want"
  for _ in $(seq 1 150); do
    event_ids | sort -u > "$WORK/got"
    comm -23 "$WORK/want" "$WORK/got" > "$WORK/missing"
    [ -s "$WORK/missing" ] || break
    sleep 0.2
  done
  [ ! -s "$WORK/missing" ] || fail "Kafka $v: $(wc -l < "$WORK/missing") polled event(s) missing"
  for id in "$RUN_ID-webhook-status-changed" "$RUN_ID-webhook-foc-date-changed" "$RUN_ID-webhook-new-comment" "$RUN_ID-replay"; do
    grep -qx "$id" "$WORK/got" || fail "Kafka $v: $id not in Kafka"
  done
  dups=$(event_ids | sort | uniq -d | wc -l)
  [ "$dups" = 0 ] || fail "Kafka $v: $dups event(s) twice"
  stop_bridge || fail "Kafka $v: stop exited $?"
  check_sanitizers "$WORK/bridge.log"
  stop_fake
  KAFKA_STOP_SIGNAL=KILL kv "$v" reset > /dev/null 2>&1; cur=""
  pass "Kafka $v: 3 signed webhooks, a replay and 20 polled events, each in Kafka once"
done
