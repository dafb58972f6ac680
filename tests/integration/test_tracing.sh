#!/usr/bin/env bash
# Trace context from the webhook to the consumer (issue 26), read back by a
# consumer instrumented with OpenTelemetry (otel_consumer.py: confluent-kafka
# with opentelemetry-instrumentation-confluent-kafka and the SDK), never by a
# parser of ours:
#   - a webhook with traceparent 00-T-S-01: its record carries trace T with
#     the bridge's span as parent; the instrumentation's process span links
#     to it, and a span started in the context OpenTelemetry extracts is in
#     trace T; its log line carries trace_id T;
#   - webhooks without one, or with a malformed one: each record carries a
#     valid traceparent of a new, distinct trace, and the malformed value
#     reaches no log line;
#   - an authentic but unusable webhook: its dead letter carries the trace;
#   - tracing.propagate = false: no trace header at all.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; kill ${RECV_PID:-} 2>/dev/null || true; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
write_config
sed -i 's/^log = .*/log = { level = "info"; format = "json"; delivery_level = "info"; };/' "$WORK/bridge.conf"
echo 'webhook = { address = "127.0.0.1"; port = 0; };' >> "$WORK/bridge.conf"
start_bridge "$WORK/bridge.conf"
HOOK="$BASE/webhooks/telnyx/portouts"
T=4bf92f3577b34da6a3ce929d0e0e4736 S=00f067aa0ba902b7
BAD='00-zz"injected=1'

event() { # event ID -> a webhook file of a status change with that event id
  sed "s/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b/$1/" "$FIX/webhook-status-changed.json" > "$WORK/$1.json"
  echo "$WORK/$1.json"
}
post_traced() { # post_traced FILE [curl header args...] -> HTTP code
  local f=$1 ts sig; shift
  ts=$(date +%s)
  sig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$f" "$ts")
  curl -s -o /dev/null -w '%{http_code}' -X POST "$HOOK" -H 'content-type: application/json' \
       -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $sig" "$@" --data-binary @"$f"
}
for i in 1 2 3 4 5 6 7 8 9 10; do # the first answer may wait for the topic's creation
  code=$(post_traced "$(event ev-traced)" -H "traceparent: 00-$T-$S-01" -H "tracestate: vendor=abc")
  [ "$code" = 503 ] || break; sleep 0.5
done
[ "$code" = 200 ] || fail "the traced webhook: $code"
[ "$(post_traced "$(event ev-plain-1)")" = 200 ] || fail "a webhook without traceparent"
[ "$(post_traced "$(event ev-plain-2)")" = 200 ] || fail "a second webhook without traceparent"
[ "$(post_traced "$(event ev-bad)" -H "traceparent: $BAD")" = 200 ] ||
  fail "a webhook with a malformed traceparent was not taken"
# Authentic, unusable (no port-out id): a dead letter in trace T2.
T2=0af7651916cd43dd8448eb211c80319c
sed 's/"id":"5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70",//' "$(event ev-dead)" > "$WORK/dead.json"
[ "$(post_traced "$WORK/dead.json" -H "traceparent: 00-$T2-b7ad6b7169203331-01")" = 200 ] ||
  fail "the unusable webhook"

python3 "$(dirname "$0")/otel_consumer.py" "$BOOTSTRAP" "$(topic status-changed)" 4 60 \
  > "$WORK/consumed.ndjson" || fail "the instrumented consumer: $(cat "$WORK/consumed.ndjson")"
cat "$WORK/consumed.ndjson"
python3 - "$WORK/consumed.ndjson" "$T" "$S" <<'PY' || fail "trace context as OpenTelemetry read it"
import json, sys
recs = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
T, S = sys.argv[2], sys.argv[3]
t = recs["ev-traced"]
bridge_span = t["traceparent"].split("-")[2]
assert t["traceparent"].startswith("00-%s-" % T) and bridge_span != S, t
assert t["child"] == [T, bridge_span], t            # a handler's span: in trace T
assert [T, bridge_span] in t["process_links"], t    # the instrumentation's: linked to it
others = [recs[i] for i in ("ev-plain-1", "ev-plain-2", "ev-bad")]
ids = set()
for r in others:
    assert r["child"] is not None, r                # a valid traceparent, OpenTelemetry says
    assert r["child"][0] != T and r["child"][0] not in ids, r
    ids.add(r["child"][0])
print("ev-traced in trace", T, "under bridge span", bridge_span, "; 3 others in", sorted(ids))
PY
pass "traceparent: an instrumented consumer continues trace T; events without one have their own"

dlq=$(kcat -C -b "$BOOTSTRAP" -t "$(topic dlq)" -o beginning -e -q -f '%h\n' 2>/dev/null)
echo "$dlq" | grep "traceparent=00-$T2-" >/dev/null || fail "the dead letter lost its trace: $dlq"
pass "the dead letter of an unusable webhook carries its trace"

line=$(grep '"event_id":"ev-traced"' "$WORK/bridge.log" | grep '"outcome":"delivered"' | head -1)
echo "$line"
echo "$line" | grep "\"trace_id\":\"$T\"" >/dev/null || fail "the event's log line has no trace_id $T"
grep -F 'zz"injected' "$WORK/bridge.log" && fail "the malformed traceparent reached the log"
pass "log lines carry trace_id; the malformed traceparent reached none"
stop_bridge
check_sanitizers "$WORK/bridge.log"

# Off: no trace header, no trace_id.
echo 'tracing = { propagate = false; };' >> "$WORK/bridge.conf"
start_bridge "$WORK/bridge.conf" "$WORK/bridge2.log"
HOOK="$BASE/webhooks/telnyx/portouts"
[ "$(post_traced "$(event ev-off)" -H "traceparent: 00-$T-$S-01")" = 200 ] || fail "with tracing off"
python3 "$(dirname "$0")/otel_consumer.py" "$BOOTSTRAP" "$(topic status-changed)" 5 60 \
  > "$WORK/off.ndjson" || fail "the consumer, tracing off"
python3 - "$WORK/off.ndjson" <<'PY' || fail "tracing.propagate = false still wrote trace context"
import json, sys
r = [r for r in map(json.loads, open(sys.argv[1])) if r["id"] == "ev-off"][0]
assert r["traceparent"] is None and r["child"] is None, r
PY
grep '"trace_id"' "$WORK/bridge2.log" && fail "trace_id logged with tracing off"
pass "tracing.propagate = false: no trace header, no trace_id"
stop_bridge
check_sanitizers "$WORK/bridge2.log"

# Span export: an OTLP/HTTP JSON collector (otlp_receiver.py parses every
# request with opentelemetry-proto), one span per event, in its trace.
python3 "$(dirname "$0")/otlp_receiver.py" "$WORK/otlp.port" "$WORK/spans.ndjson" &
RECV_PID=$!
wait_for 10 "the OTLP receiver" test -s "$WORK/otlp.port"
sed -i '/^tracing = /d' "$WORK/bridge.conf"
echo "tracing = { otlp_endpoint = \"http://127.0.0.1:$(cat "$WORK/otlp.port")\"; };" >> "$WORK/bridge.conf"
OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer s3cret-token" start_bridge "$WORK/bridge.conf" "$WORK/bridge3.log"
HOOK="$BASE/webhooks/telnyx/portouts"
[ "$(post_traced "$(event ev-span-1)" -H "traceparent: 00-$T-$S-01")" = 200 ] || fail "span webhook 1"
[ "$(post_traced "$(event ev-span-2)")" = 200 ] || fail "span webhook 2"
[ "$(post_traced "$(event ev-span-1)")" = 200 ] || fail "span webhook 1, again" # a duplicate: a span too
wait_for 20 "3 spans at the collector" \
  bash -c "[ \$(grep -c trace_id '$WORK/spans.ndjson' 2>/dev/null || echo 0) -ge 3 ]"
cat "$WORK/spans.ndjson"
kcat -C -b "$BOOTSTRAP" -t "$(topic status-changed)" -o beginning -e -q -f '%h\n' 2>/dev/null \
  | sed -n 's/.*ce_id=\(ev-span-[0-9]\).*traceparent=\([0-9a-f-]*\).*/\1 \2/p' > "$WORK/span-records"
cat "$WORK/span-records"
python3 - "$WORK/spans.ndjson" "$WORK/span-records" "$T" "$S" <<'PY' || fail "the exported spans"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
assert not [s for s in spans if "error" in s], spans          # every request parsed
recs = dict(l.split() for l in open(sys.argv[2]))
T, S = sys.argv[3], sys.argv[4]
by_id = {}
for s in spans:
    by_id.setdefault(s["attributes"]["messaging.message.id"], []).append(s)
assert sorted(by_id) == ["ev-span-1", "ev-span-2"] and len(by_id["ev-span-1"]) == 2, by_id
for eid, ss in by_id.items():
    tp = recs[eid].split("-")
    first = ss[0]                                              # the delivery's span
    assert [first["trace_id"], first["span_id"]] == [tp[1], tp[2]], (first, tp)
    assert first["kind"] == 4 and first["status"] == 1, first   # PRODUCER, OK
    assert first["attributes"]["portout_bridge.outcome"] == "delivered", first
    assert first["attributes"]["http.response.status_code"] == 200, first
    assert first["attributes"]["messaging.destination.name"].endswith(".status-changed"), first
    assert first["attributes"]["portout_bridge.ingest_path"] == "webhook", first
    assert first["service"] == "portout-bridge" and first["end"] >= first["start"] > 0, first
    assert first["auth"] == "Bearer s3cret-token", first       # OTEL_EXPORTER_OTLP_HEADERS
assert by_id["ev-span-1"][0]["trace_id"] == T and by_id["ev-span-1"][0]["parent_span_id"] == S
assert by_id["ev-span-1"][1]["attributes"]["portout_bridge.outcome"] == "duplicate"
assert by_id["ev-span-2"][0]["trace_id"] != T and by_id["ev-span-2"][0]["parent_span_id"] == ""
PY
metric "$ADMIN" portout_bridge_trace_spans_total 'outcome="exported"' > /dev/null
grep -F 's3cret-token' "$WORK/bridge3.log" && fail "the collector's credential reached the log"
pass "OTLP/JSON spans parse as ExportTraceServiceRequest: one per event, in its record's trace"
stop_bridge
kill $RECV_PID 2>/dev/null; wait $RECV_PID 2>/dev/null || true
check_sanitizers "$WORK/bridge3.log"

# The collector down (it takes connections and never answers): webhooks are
# answered as before; the spans are dropped and counted.
python3 "$(dirname "$0")/otlp_receiver.py" "$WORK/hole.port" "$WORK/hole.ndjson" blackhole &
RECV_PID=$!
wait_for 10 "the blackhole collector" test -s "$WORK/hole.port"
sed -i '/^tracing = /d' "$WORK/bridge.conf"
echo "tracing = { otlp_endpoint = \"http://127.0.0.1:$(cat "$WORK/hole.port")\"; };" >> "$WORK/bridge.conf"
start_bridge "$WORK/bridge.conf" "$WORK/bridge4.log"
HOOK="$BASE/webhooks/telnyx/portouts"
slowest=0
for i in $(seq 1 20); do
  t0=$(now_ms)
  [ "$(post_traced "$(event ev-hole-$i)")" = 200 ] || fail "webhook $i with the collector down"
  took=$(( $(now_ms) - t0 )); [ $took -gt $slowest ] && slowest=$took
done
echo "20 webhooks with the collector down: slowest answer $slowest ms (the exporter waits 5000 ms)"
[ $slowest -lt $((1000 * SLACK)) ] || fail "a webhook took $slowest ms with the collector down"
wait_for 20 "spans dropped and counted" \
  bash -c "[ \$(curl -s '$ADMIN/metrics' | sed -n 's/^portout_bridge_trace_spans_total{outcome=\"dropped\"} //p') -ge 20 ]"
pass "collector down: 20 webhooks answered (slowest $slowest ms), their spans dropped and counted"
stop_bridge
kill $RECV_PID 2>/dev/null; wait $RECV_PID 2>/dev/null || true
check_sanitizers "$WORK/bridge4.log"
