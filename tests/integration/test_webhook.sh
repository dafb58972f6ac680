#!/usr/bin/env bash
# portout-bridge run as Telnyx and an operator meet it: signed webhooks in,
# CloudEvents out, every HTTP status, health, metrics, 100 concurrent clients,
# a slow client, graceful stop. Real HTTP clients (curl, Node's http), the
# real broker, records read back with kcat.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
write_config
cat >> "$WORK/bridge.conf" <<CONF
input = { max_event_bytes = 2048; };
webhook = {
  address = "127.0.0.1"; port = 0;
  paths = "/hooks/a, /hooks/b";
  connection_timeout_s = 2;
  ack_timeout_ms = 5000;
};
CONF
TELNYX_PUBLIC_KEY="$PUB" start_bridge "$WORK/bridge.conf"
A="$BASE/hooks/a"

# --- delivered, on either path, landing as CloudEvents
for f in webhook-status-changed webhook-foc-date-changed; do
  out=$(post_signed "$A" "$FIX/$f.json"); [[ $out == 200* ]] || fail "$f: $out"
  echo "$out" | grep -q '"status":"delivered"' || fail "$f: $out"
done
out=$(post_signed "$BASE/hooks/b" "$FIX/webhook-new-comment.json"); [[ $out == 200* ]] || fail "path b: $out"
pass "signed webhooks on both paths answered 200 delivered"

# --- a Telnyx re-send (attempt 2, same data.id) is not published again
sed 's/"attempt":1/"attempt":2/' "$FIX/webhook-new-comment.json" > "$WORK/resend.json"
out=$(post_signed "$A" "$WORK/resend.json")
[[ $out == 200* ]] && echo "$out" | grep -q '"status":"duplicate"' || fail "re-send: $out"
pass "re-send answered 200 duplicate"

# --- authentic but unusable: dead-lettered, then 200 so Telnyx stops
printf '%s' '{"data":{"event_type":"portout.status_changed","id":"bad-1","payload":null,"record_type":"event"},"meta":{"attempt":1}}' > "$WORK/unusable.json"
out=$(post_signed "$A" "$WORK/unusable.json")
[[ $out == 200* ]] && echo "$out" | grep -q '"status":"dead_lettered"' || fail "unusable: $out"
echo "$out" | grep -q 'missing port-out id' || fail "no reason in answer: $out"
pass "authentic but unusable event: 200 dead_lettered with the reason"

K=5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70
cat > "$WORK/expect.json" <<JSON
{"records": [
  {"topic": "$(topic status-changed)", "key": "$K", "id": "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "type": "com.telnyx.portout.status_changed", "ingestpath": "webhook"},
  {"topic": "$(topic foc-date-changed)", "key": "$K", "id": "f0e1d2c3-b4a5-4968-8776-5a4b3c2d1e0f", "type": "com.telnyx.portout.foc_date_changed", "ingestpath": "webhook"},
  {"topic": "$(topic new-comment)", "key": "$K", "id": "a9b8c7d6-e5f4-4a3b-8c2d-1e0f9a8b7c6d", "type": "com.telnyx.portout.new_comment", "ingestpath": "webhook"}
],
"dead_letters": [
  {"topic": "$(topic dlq)", "error_contains": "missing port-out id", "value": $(node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(process.argv[1],"utf8")))' "$WORK/unusable.json")}
]}
JSON
: > "$WORK/records.ndjson"
for t in status-changed foc-date-changed new-comment dlq; do consume "$(topic $t)" "$WORK/records.ndjson"; done
node "$JS/check-records.js" "$WORK/expect.json" "$WORK/records.ndjson" || fail "records in Kafka"
pass "Kafka holds exactly the 3 events (no duplicate) and the dead letter, as CloudEvents"

# --- 401: nothing unsigned, forged, altered or replayed gets in
b="$FIX/webhook-status-changed.json"
code() { curl -s -o "$WORK/resp" -w '%{http_code}' "$@"; }
expect_401() { local want=$1; shift; local c; c=$(code "$@")
  [ "$c" = 401 ] || fail "want 401 $want, got $c $(cat "$WORK/resp")"
  grep -q "\"error\":\"$want\"" "$WORK/resp" || fail "401 body lacks $want: $(cat "$WORK/resp")"; }
ts=$(date +%s); good=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$b" "$ts")
expect_401 missing_timestamp -X POST "$A" -H 'content-type: application/json' -H "telnyx-signature-ed25519: $good" --data-binary @"$b"
expect_401 missing_signature -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $ts" --data-binary @"$b"
expect_401 bad_timestamp -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: soon" -H "telnyx-signature-ed25519: $good" --data-binary @"$b"
expect_401 bad_signature_encoding -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: %%%" --data-binary @"$b"
sed 's/authorized/Authorized/' "$b" > "$WORK/altered.json"   # one byte changed
expect_401 signature_mismatch -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $good" --data-binary @"$WORK/altered.json"
node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/other" >/dev/null
forged=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/other/dev-private.pem" "$b" "$ts")
expect_401 signature_mismatch -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $forged" --data-binary @"$b"
old=$(( ts - 301 )); oldsig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$b" "$old")
expect_401 timestamp_too_old -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $old" -H "telnyx-signature-ed25519: $oldsig" --data-binary @"$b"
fut=$(( $(date +%s) + 330 )); futsig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$b" "$fut")
expect_401 timestamp_in_future -X POST "$A" -H 'content-type: application/json' -H "telnyx-timestamp: $fut" -H "telnyx-signature-ed25519: $futsig" --data-binary @"$b"
pass "401 for missing, malformed, forged, altered, stale and future-dated requests"

# --- other statuses
c=$(code "$A"); [ "$c" = 405 ] || fail "GET on webhook path: $c"
c=$(curl -s -o /dev/null -D "$WORK/h" -w '%{http_code}' -X PUT "$A" -d x); [ "$c" = 405 ] || fail "PUT: $c"
grep -qi '^Allow: POST' "$WORK/h" || fail "405 without Allow"
c=$(code -X POST "$A" -H 'content-type: text/plain' --data-binary @"$b"); [ "$c" = 415 ] || fail "text/plain: $c"
grep -q '"error":"unsupported_media_type"' "$WORK/resp" || fail "415 body"
c=$(code -X POST "$BASE/nope" -H 'content-type: application/json' -d '{}'); [ "$c" = 404 ] || fail "unknown path: $c"
# the size bound is 2048 bytes: exactly 2048 is read (and judged on its signature), 2049 is 413;
# the body is read only past signature headers that could be right (a
# current timestamp, 64 bytes of padded base64): these are forged
FORGED=(-H "telnyx-timestamp: $(date +%s)" -H "telnyx-signature-ed25519: $(head -c 64 /dev/zero | base64 -w0)")
python3 -c "import sys; b='{\"pad\":\"' + 'x'*(int(sys.argv[1])-10) + '\"}'; sys.stdout.write(b)" 2048 > "$WORK/at-limit.json"
python3 -c "import sys; b='{\"pad\":\"' + 'x'*(int(sys.argv[1])-10) + '\"}'; sys.stdout.write(b)" 2049 > "$WORK/over-limit.json"
[ "$(wc -c < "$WORK/at-limit.json")" = 2048 ] && [ "$(wc -c < "$WORK/over-limit.json")" = 2049 ] || fail "fixture sizes"
c=$(code -X POST "$A" -H 'content-type: application/json' "${FORGED[@]}" --data-binary @"$WORK/at-limit.json"); [ "$c" = 401 ] || fail "2048 bytes: $c"
grep -q '"error":"signature_mismatch"' "$WORK/resp" || fail "2048 bytes: read and judged on the signature: $(cat "$WORK/resp")"
c=$(code -X POST "$A" -H 'content-type: application/json' --data-binary @"$WORK/over-limit.json"); [ "$c" = 413 ] || fail "2049 bytes: $c"
grep -q '"error":"body_too_large"' "$WORK/resp" || fail "413 body"
c=$(code -X POST "$A" -H 'content-type: application/json' -H 'transfer-encoding: chunked' "${FORGED[@]}" --data-binary @"$WORK/over-limit.json"); [ "$c" = 413 ] || fail "chunked 2049 bytes: $c"
pass "405 (with Allow), 415, 404, and the body bound: 2048 read, 2049 is 413 (also chunked)"

# --- health, readiness, metrics
c=$(code "$ADMIN/healthz"); [ "$c" = 200 ] || fail "healthz $c"
c=$(code "$ADMIN/readyz"); [ "$c" = 200 ] && grep -q '"kafka":"up"' "$WORK/resp" || fail "readyz $c $(cat "$WORK/resp")"
c=$(code "$BASE/metrics"); [ "$c" = 404 ] || fail "metrics must not be on the public listener: $c"
curl -s "$ADMIN/metrics" > "$WORK/metrics"
for m in 'portout_bridge_http_requests_total{code="200",reason="delivered"} 3' \
         'portout_bridge_http_requests_total{code="200",reason="duplicate"} 1' \
         'portout_bridge_http_requests_total{code="200",reason="dead_lettered"} 1' \
         'portout_bridge_http_requests_total{code="401",reason="signature_mismatch"} 3' \
         'portout_bridge_http_requests_total{code="413",reason="body_too_large"} 2' \
         'portout_bridge_duplicates_total{ingest="webhook"} 1' \
         'portout_bridge_kafka_up 1' \
         'portout_bridge_events_in_flight 0' \
         "portout_bridge_events_published_total{topic=\"$(topic dlq)\"} 1" \
         'portout_bridge_events_dead_lettered_total{stage="normalize"} 1' \
         'portout_bridge_ack_seconds_count 5' \
         'portout_bridge_build_info{version="' \
         'portout_bridge_producer_queue_depth 0'; do
  grep -qF "$m" "$WORK/metrics" || { cat "$WORK/metrics"; fail "metrics lack: $m"; }
done
pass "healthz, readyz and metrics (on the admin listener, not the public one) report what happened"

# --- a slow client cannot hold the listener
exec 3<>/dev/tcp/127.0.0.1/"${BASE##*:}"
printf 'POST /hooks/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"da' >&3
out=$(post_signed "$A" "$FIX/webhook-status-changed.json")   # served meanwhile (a duplicate by now)
[[ $out == 200* ]] || fail "server blocked by a slow client: $out"
start=$(date +%s); timeout 10 cat <&3 > /dev/null || true; waited=$(( $(date +%s) - start ))
exec 3>&-
[ $waited -le 6 ] || fail "slow connection held for ${waited}s (timeout is 2s)"
pass "a slow client is cut off after the connection timeout and blocks nobody"

# --- ambiguous framing (request smuggling behind a proxy): 400, closed, and
# nothing after it served; on the webhook port and on the admin port
python3 "$(dirname "$0")/framing.py" 127.0.0.1 "${BASE##*:}" /hooks/a > "$WORK/framing.txt" \
  || fail "framing on the webhook port: $(grep -v '"ok": true' "$WORK/framing.txt")"
python3 "$(dirname "$0")/framing.py" 127.0.0.1 "${ADMIN##*:}" /healthz > "$WORK/framing-admin.txt" \
  || fail "framing on the admin port: $(grep -v '"ok": true' "$WORK/framing-admin.txt")"
nf=$(metric "$ADMIN" portout_bridge_http_requests_total 'code="400",reason="bad_framing"')
[ "$nf" -ge 11 ] || fail "bad_framing counted $nf times"
out=$(post_signed "$A" "$FIX/webhook-status-changed.json")
[[ $out == 200* ]] || fail "a webhook after the framing cases: $out"
pass "$(grep -c . "$WORK/framing.txt") ambiguous framings (CL with TE, two CLs, TE lists, a space before the colon, a folded line, ...) answered 400 and closed on both listeners, nothing smuggled"

# --- a client that shuts its side as soon as the request is sent (a
# half-close) still gets its answer once Kafka has the event
sed "s/\"id\": *\"[^\"]*\"/\"id\": \"half-$RUN_ID\"/" "$FIX/webhook-status-changed.json" > "$WORK/half.json"
ts=$(date +%s)
sig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$WORK/half.json" "$ts")
python3 - "${BASE##*:}" "$WORK/half.json" "$ts" "$sig" > "$WORK/half.out" <<'PY'
import socket, sys
port, body, ts, sig = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3], sys.argv[4]
head = (f"POST /hooks/a HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"telnyx-timestamp: {ts}\r\ntelnyx-signature-ed25519: {sig}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(head + body)
s.shutdown(socket.SHUT_WR)
s.settimeout(10)
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
print(got.split(b"\r\n", 1)[0].decode(), got.rsplit(b"\r\n\r\n", 1)[-1].decode())
PY
grep -q '^HTTP/1.1 200 OK .*"status":"delivered"' "$WORK/half.out" || fail "half-closed client: $(cat "$WORK/half.out")"
pass "a half-closed client gets its answer (200 delivered)"

# --- 100 concurrent clients, 10 distinct events each
node "$JS/webhook-load.js" "$A" "$WORK/keys/dev-private.pem" 1000 100 "load-$RUN_ID" portout.new_comment > "$WORK/load.txt" \
  || { cat "$WORK/load.txt"; fail "load: not every request was 200"; }
cat "$WORK/load.txt"
n=$(topic_count "$(topic new-comment)")
[ "$n" -eq 1001 ] || fail "new-comment topic has $n records, want 1001 (1000 + 1)"
pass "100 concurrent clients: 1000 x 200, exactly 1000 new records"

# --- SIGTERM: graceful stop, exit 0
stop_bridge || fail "run exited $? on SIGTERM"
grep -q "stopped" "$WORK/bridge.log" || fail "no stop line"
pass "SIGTERM: graceful stop, exit 0"

# --- signatures off: only by explicit option, loudly
sed 's/ack_timeout_ms = 5000;/ack_timeout_ms = 5000; verify_signatures = false;/' "$WORK/bridge.conf" > "$WORK/nosig.conf"
start_bridge "$WORK/nosig.conf" "$WORK/nosig.log"
grep -q 'level=warn msg="webhook.verify_signatures is false: ANY client' "$WORK/nosig.log" || fail "no warning at start"
c=$(code -X POST "$BASE/hooks/a" -H 'content-type: application/json' --data-binary @"$FIX/webhook-foc-date-changed.json")
[ "$c" = 200 ] || fail "unsigned request with signatures off: $c"
stop_bridge || fail "stop"
pass "verify_signatures = false: a warning at start, unsigned requests accepted"

# --- SIGHUP reloads (the webhook's TLS pair, none here), never stops: it
# used to kill the process at once (exit 129), then to drain like SIGTERM.
start_bridge "$WORK/nosig.conf" "$WORK/hup.log"
kill -HUP "$BRIDGE_PID"
wait_for 10 "the reload line" grep -q 'msg="reload: nothing to reload: the webhook listener has no TLS"' "$WORK/hup.log"
kill -0 "$BRIDGE_PID" 2>/dev/null || fail "SIGHUP stopped the bridge"
c=$(code -X POST "$BASE/hooks/a" -H 'content-type: application/json' --data-binary @"$FIX/webhook-status-changed.json")
[ "$c" = 200 ] || fail "after SIGHUP: $c"
stop_bridge || fail "stop after SIGHUP"
pass "SIGHUP reloads and keeps serving (nothing to reload without TLS); SIGTERM then stops it, exit 0"

# --- configuration errors of run
set +e; "$PB_BIN" -c "$WORK/bridge.conf" run > "$WORK/o" 2>&1; rc=$?; set -e
[ $rc -eq 78 ] && grep -q "no public key" "$WORK/o" || fail "run without key: $rc $(cat "$WORK/o")"
set +e; TELNYX_PUBLIC_KEY=c2hvcnQ= "$PB_BIN" -c "$WORK/bridge.conf" run > "$WORK/o" 2>&1; rc=$?; set -e
[ $rc -eq 78 ] && grep -q "not base64 of a raw 32-byte" "$WORK/o" || fail "run with bad key: $rc $(cat "$WORK/o")"
pass "run refuses to start without a valid public key (78)"
