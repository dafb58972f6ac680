#!/usr/bin/env bash
# With the broker down, webhooks get 503 + Retry-After (never 200) and /readyz
# says not ready; a 503 is the truth: once the broker is back, none of those
# attempts is in Kafka (each record was withdrawn at its deadline, not
# delivered behind the answer's back); Telnyx-style retries then land every
# event exactly once. (The index, dedupe.from_kafka, is off here: this is the
# record deadline alone; test_exactly_once covers the index.) Uses a broker of its own (port 9192) so that stopping it
# disturbs no other test.
source "$(dirname "$0")/lib.sh"
DPORT=$((9192 + ${PB_IT_PORT_OFFSET:-0}))
kl() { KAFKA_PORT=$DPORT bash "$PB_SOURCE_DIR/scripts/kafka-local.sh" "$@"; }
trap 'trap - ERR; stop_bridge || true; kl stop >/dev/null 2>&1 || true; work_done' EXIT
BOOTSTRAP=$(kl start)
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; retry_after_s = 2; };
dedupe = { from_kafka = false; };
CONF
sed -i "s/brokers = \"[^\"]*\"/brokers = \"$BOOTSTRAP\"/; s/message.timeout.ms=60000/message.timeout.ms=180000/" "$WORK/bridge.conf"
TELNYX_PUBLIC_KEY="$PUB" start_bridge "$WORK/bridge.conf"
H="$BASE/hook"
event() { # event ID ATTEMPT -> file
  printf '{"data":{"event_type":"portout.status_changed","id":"%s","occurred_at":"2026-03-05T12:30:45Z","payload":{"id":"po-%s","status":"ported"},"record_type":"event"},"meta":{"attempt":%s,"delivered_to":"%s"}}' \
    "$1" "$1" "$2" "$H" > "$WORK/$1-$2.json"; echo "$WORK/$1-$2.json"; }

out=$(post_signed "$H" "$(event d-0 1)"); [[ $out == 200* ]] || fail "before the outage: $out"
pass "broker up: 200"

kl stop
for _ in $(seq 1 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" = 503 ] && break; sleep 0.2
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" = 503 ] || fail "readyz still ready with the broker down"
pass "broker down: /readyz is 503"

for i in 1 2 3 4 5; do
  f=$(event d-$i 1)
  ts=$(date +%s); sig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$f" "$ts")
  c=$(curl -s -D "$WORK/h" -o "$WORK/resp" -w '%{http_code}' -X POST "$H" -H 'content-type: application/json' \
        -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $sig" --data-binary @"$f")
  [ "$c" = 503 ] || fail "event d-$i with the broker down: $c $(cat "$WORK/resp")"
  grep -qi '^Retry-After: 2' "$WORK/h" || fail "503 without Retry-After"
  grep -qE '"error":"(ack_timeout|not_durable)"' "$WORK/resp" || fail "503 body: $(cat "$WORK/resp")"
  grep -qE '"in_kafka":"(no|maybe)"' "$WORK/resp" || fail "503 without in_kafka: $(cat "$WORK/resp")"
done
# A retry while the first attempt is still queued follows it: 503 again, not a second copy.
out=$(post_signed "$H" "$(event d-1 2)"); [[ $out == 503* ]] || fail "retry during the outage: $out"
pass "broker down: every webhook answered 503 with Retry-After, none 200"

# An HTTP thread never waits on Kafka: with the producer full (5 records) a
# burst of 40 gets 503 "backpressure" at once, not after the ack timeout, and
# probes answer meanwhile.
sed 's/"message.timeout.ms=180000"/"message.timeout.ms=180000", "queue.buffering.max.messages=5"/; s/ack_timeout_ms = 1500;/ack_timeout_ms = 3000; threads = 2;/; s/kafka = {/kafka = { flush_timeout_ms = 1000;/' \
  "$WORK/bridge.conf" > "$WORK/full.conf"
sed -i "s/admin = {[^}]*}/admin = { address = \"127.0.0.1\"; port = 0; }/" "$WORK/full.conf"
A_BRIDGE=$BRIDGE_PID A_BASE=$BASE A_ADMIN=$ADMIN
TELNYX_PUBLIC_KEY="$PUB" "$PB_BIN" -c "$WORK/full.conf" run > "$WORK/full.log" 2>&1 &
F_PID=$!
for _ in $(seq 1 300); do grep -q 'msg="running' "$WORK/full.log" && break; sleep 0.1; done
F_BASE="http://127.0.0.1:$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$WORK/full.log")"
F_ADMIN="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$WORK/full.log")"
( for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$F_ADMIN/healthz"; sleep 0.1; done ) > "$WORK/probes" &
python3 "$PB_SOURCE_DIR/tests/integration/burst.py" "$F_BASE/hook" "$WORK/keys/dev-private.pem" 40 full > "$WORK/burst.json"
wait $!
kill -TERM $F_PID; set +e; wait $F_PID; frc=$?; set -e
check_sanitizers "$WORK/full.log"
python3 - "$WORK/burst.json" "$WORK/probes" "$SLACK" <<'PY' || fail "backpressure"
import json, sys
r = json.load(open(sys.argv[1]))
slack = float(sys.argv[3]) # PB_LATENCY_SLACK: 2 for the sanitizer binary
bp = [x for x in r if x["error"] == "backpressure"]
waited = [x for x in r if x["error"] in ("ack_timeout", "not_durable")]
assert len(bp) + len(waited) == 40, r
assert len(waited) <= 5 and len(bp) >= 35, (len(waited), len(bp))
assert max(x["ms"] for x in bp) < 300 * slack, f"a backpressure answer took {max(x['ms'] for x in bp)} ms"
assert all(x["code"] == 503 for x in r)
probes = [l.split() for l in open(sys.argv[2])]
assert len(probes) == 20 and all(p[0] == "200" and float(p[1]) < 0.5 * slack for p in probes), probes
print(f"{len(bp)} x 503 backpressure, slowest {max(x['ms'] for x in bp)} ms; {len(waited)} waited for the ack timeout")
PY
# The five that waited failed at their record deadline (ack 3000 - 1200 ms),
# before the stop: nothing is left for the shutdown to fail (exit 0, not 75).
[ $frc -eq 0 ] || fail "the full bridge stopped with $frc, want 0 (its 5 records failed at their deadline)"
pass "producer full: a 40-request burst answered 503 backpressure at once, probes 200 throughout, the 5 queued failed at their deadline"
BRIDGE_PID=$A_BRIDGE BASE=$A_BASE ADMIN=$A_ADMIN

kl start >/dev/null
for _ in $(seq 1 100); do curl -sf "$ADMIN/readyz" > /dev/null && break; sleep 0.2; done
wait_quiet "$ADMIN" # a record still queued is delivered (or failed) by now
ids_now=$(kcat -C -b "$BOOTSTRAP" -t "$(topic status-changed)" -o beginning -e -q -f '%h\n' | tr ',' '\n' | sed -n 's/^ce_id=//p' | sort | tr '\n' ' ')
[ "$ids_now" = "d-0 " ] || fail "after the outage, before any retry, Kafka holds: $ids_now (the attempts answered 503 must not land)"
pass "broker back: none of the attempts answered 503 is in Kafka"
# Telnyx-style retries until each is acknowledged.
for i in 1 2 3 4 5; do
  ok=""
  for attempt in $(seq 3 40); do
    out=$(post_signed "$H" "$(event d-$i $attempt)")
    if [[ $out == 200* ]]; then ok=1; break; fi
    [[ $out == 503* ]] || fail "retry of d-$i: $out"
    sleep 1
  done
  [ -n "$ok" ] || fail "d-$i never acknowledged after the broker came back"
done
pass "broker back: every retry answered 200"

kcat -C -b "$BOOTSTRAP" -t "$(topic status-changed)" -o beginning -e -q -f '%h\n' \
  | tr ',' '\n' | sed -n 's/^ce_id=//p' | sort > "$WORK/ids"
printf 'd-%s\n' 0 1 2 3 4 5 | sort > "$WORK/want"
diff "$WORK/want" "$WORK/ids" || fail "want each event exactly once in Kafka; got: $(tr '\n' ' ' < "$WORK/ids")"
pass "each of the 6 events is in Kafka exactly once"
stop_bridge || fail "stop"
