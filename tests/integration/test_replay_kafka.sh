#!/usr/bin/env bash
# replay a file of mixed events into the real broker; consume every topic with
# kcat; check topic, key, headers and envelope of each record with the
# CloudEvents SDK, and that nothing else arrived.
source "$(dirname "$0")/lib.sh"
write_config
K=5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70

{
  cat "$FIX/rest-list.json" "$FIX/rest-show-new-comment.json" "$FIX/rest-show-payload-null.json"
  cat "$FIX/webhook-status-changed.json" "$FIX/webhook-foc-date-changed.json" "$FIX/webhook-new-comment.json"
  echo '{"data":{"event_type":"portout.port_request_closed","id":"u-1","payload":{"portout_id":"P-other"},"record_type":"event"},"meta":{"attempt":1}}'
  echo 'not json at all'
  echo '{"data":{"event_type":"portout.status_changed","id":"x-1","payload":null,"record_type":"event"},"meta":{"attempt":1}}'
  echo '{"data":[],"meta":{"total_pages":0}}'
  echo ''
  echo '{"id":"uni-1","event_type":"portout.new_comment","portout_id":"P-üñí","payload":{"comment":"Überprüfung ☎ 日本"}}'
} > "$WORK/mixed.ndjson"

set +e
"$PB_BIN" -c "$WORK/bridge.conf" replay "$WORK/mixed.ndjson" > "$WORK/summary.txt" 2> "$WORK/stderr.txt"
rc=$?
set -e
cat "$WORK/summary.txt"
[ $rc -eq 65 ] || { cat "$WORK/stderr.txt"; fail "replay exit $rc, want 65 (input was dead-lettered)"; }
grep -q "replay: 11 event(s) read, 9 published, 2 dead-lettered, 0 failed" "$WORK/summary.txt" \
  || fail "summary line"
grep -q "mixed.ndjson:8: rejected" "$WORK/stderr.txt" || fail "no log line naming file:line of the bad input"
pass "replay exit 65 with summary"

cat > "$WORK/expect.json" <<JSON
{"records": [
  {"topic": "$(topic status-changed)", "key": "$K", "id": "0b6f3c2e-91d4-4a7e-b8f5-6c1d2e3f4a50", "type": "com.telnyx.portout.status_changed", "ingestpath": "file"},
  {"topic": "$(topic foc-date-changed)", "key": "$K", "id": "2d8a4b6c-13e5-4f7a-9b0c-1e2f3a4b5c61", "type": "com.telnyx.portout.foc_date_changed"},
  {"topic": "$(topic new-comment)", "key": "$K", "id": "9e7d5c3b-2a1f-4e0d-8c9b-7a6f5e4d3c21", "type": "com.telnyx.portout.new_comment"},
  {"topic": "$(topic status-changed)", "key": "$K", "id": "4c2e0a8f-6b4d-4a2c-9e0f-8d6b4a2c0e11", "type": "com.telnyx.portout.status_changed"},
  {"topic": "$(topic status-changed)", "key": "$K", "id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "type": "com.telnyx.portout.status_changed"},
  {"topic": "$(topic foc-date-changed)", "key": "$K", "id": "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f", "type": "com.telnyx.portout.foc_date_changed"},
  {"topic": "$(topic new-comment)", "key": "$K", "id": "a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d", "type": "com.telnyx.portout.new_comment"},
  {"topic": "$(topic other)", "key": "P-other", "id": "u-1", "type": "com.telnyx.portout.port_request_closed"},
  {"topic": "$(topic new-comment)", "key": "P-üñí", "id": "uni-1", "type": "com.telnyx.portout.new_comment"}
],
"dead_letters": [
  {"topic": "$(topic dlq)", "error_contains": "not valid JSON", "value": "{\"raw_base64\":\"bm90IGpzb24gYXQgYWxs\"}"},
  {"topic": "$(topic dlq)", "error_contains": "missing port-out id", "value": "{\"data\":{\"event_type\":\"portout.status_changed\",\"id\":\"x-1\",\"payload\":null,\"record_type\":\"event\"},\"meta\":{\"attempt\":1}}"}
]}
JSON
# 9 envelopes (rest-list gives 2) + 2 dead letters = 11 records.
: > "$WORK/records.ndjson"
for t in status-changed foc-date-changed new-comment other dlq; do consume "$(topic $t)" "$WORK/records.ndjson"; done
[ "$(run_topics | wc -l)" -eq 5 ] || fail "unexpected topics: $(run_topics | tr '\n' ' ')"
node "$JS/check-records.js" "$WORK/expect.json" "$WORK/records.ndjson" || fail "consumed records"
node "$JS/validate-envelopes.js" <(grep -v pb_stage "$WORK/records.ndjson" | node -e '
  for (const l of require("fs").readFileSync(0,"utf8").split("\n")) if (l) console.log(JSON.parse(l).payload)') \
  || fail "schema"
pass "consumed records match: topic, key, headers, envelope, CloudEvents SDK"

# Unicode reached Kafka byte for byte.
grep -q 'Überprüfung ☎ 日本' <(node -e '
  for (const l of require("fs").readFileSync(0,"utf8").split("\n")) if (l) console.log(JSON.parse(l).payload)' < "$WORK/records.ndjson") \
  || fail "non-ASCII text changed on the way"
pass "non-ASCII text preserved"

# Re-driving the dead-letter topic: its values are the original input, so
# replay takes them back (and rejects the unusable ones again, with reasons).
kcat -C -b "$BOOTSTRAP" -t "$(topic dlq)" -o beginning -e -q -f '%s\n' > "$WORK/dlq.ndjson"
[ "$(wc -l < "$WORK/dlq.ndjson")" -eq 2 ] || fail "dlq holds $(wc -l < "$WORK/dlq.ndjson") records"
set +e; "$PB_BIN" -c "$WORK/bridge.conf" replay - < "$WORK/dlq.ndjson" > "$WORK/s3.txt" 2> "$WORK/e3.txt"; rc=$?; set -e
[ $rc -eq 65 ] && grep -q "2 event(s) read, 0 published, 2 dead-lettered" "$WORK/s3.txt" || fail "re-drive: $rc $(cat "$WORK/s3.txt")"
grep -q "<stdin>:1: rejected" "$WORK/e3.txt" || fail "re-drive reasons"
pass "the dead-letter topic re-drives through replay"

# A clean file exits 0.
"$PB_BIN" -c "$WORK/bridge.conf" replay "$FIX/webhook-new-comment.json" > "$WORK/s2.txt" || fail "clean replay exit $?"
grep -q "1 published, 0 dead-lettered, 0 failed" "$WORK/s2.txt" || fail "clean summary"
pass "clean replay exits 0"

# --- JSON logs, one line per delivery with the event's place in Kafka
RUN_ID=json-$RUN_ID
write_config
sed -i 's/^log = { level = "info"; };/log = { level = "info"; format = "json"; delivery_level = "info"; };/' "$WORK/bridge.conf"
echo '{"data":{"event_type":"portout.status_changed","id":"x-2","payload":null,"record_type":"event"},"meta":{"attempt":1}}' > "$WORK/bad.json"
"$PB_BIN" -c "$WORK/bridge.conf" replay --quiet "$FIX/webhook-status-changed.json" "$WORK/bad.json" \
  > /dev/null 2> "$WORK/json.log" || true
python3 - "$WORK/json.log" "$(topic status-changed)" "$(topic dlq)" <<'PY' || fail "JSON delivery logs"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]   # every line is JSON
assert all({"ts", "level", "msg"} <= set(l) for l in lines)
ok = [l for l in lines if l.get("outcome") == "delivered"]
assert len(ok) == 1, lines
d = ok[0]
assert d["event_id"] == "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b" and d["portout_id"] == "5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70"
assert d["topic"] == sys.argv[2] and isinstance(d["partition"], int) and isinstance(d["offset"], int)
assert d["ingest"] == "file" and d["level"] == "info" and d["origin"].endswith("webhook-status-changed.json:1")
dl = [l for l in lines if l.get("outcome") == "dead_lettered"]
assert len(dl) == 1 and dl[0]["topic"] == sys.argv[3] and "missing port-out id" in dl[0]["error"], dl
PY
pass "log.format json: every line parses; each delivery is logged with event_id, portout_id, topic, partition, offset (and the error of a dead letter)"
