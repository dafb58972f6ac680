#!/usr/bin/env bash
# TLS on the webhook listener (issue 25), on the real binary, with real
# clients (curl, Python's ssl/http.client, openssl s_client):
#   - signed webhooks over TLS 1.2 and 1.3 answered 200; TLS 1.0/1.1 and
#     plain HTTP on the TLS port refused; check-config describes the pair and
#     refuses a key of another certificate;
#   - the files replaced and SIGHUP sent: s_client sees the new serial, and
#     a client posting in a loop (keep-alive, new handshakes throughout)
#     through the reload sees no error;
#   - a broken new pair (a key of another certificate, a truncated PEM) keeps
#     the old one, is logged and counted, and webhooks go on;
#   - 1,000 sockets that send nothing and 200 half ClientHellos: a signed
#     webhook still gets 200 within 2 s, /healthz within 1 s.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; kill ${LOOP_PID:-} ${HOLD_PID:-} ${HALF_PID:-} 2>/dev/null || true; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
T=$WORK/tls; mkdir -p "$T"
# A test CA and two server certificates for localhost and 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" \
  -out "$T/ca.pem" -days 30 -subj "/CN=portout-bridge test CA" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$T/ext"
for n in 1 2; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/s$n.key" \
    -out "$T/s$n.csr" -subj "/CN=bridge $n" 2>/dev/null
  openssl x509 -req -in "$T/s$n.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -set_serial "100$n" \
    -days "$((20 + n))" -extfile "$T/ext" -out "$T/s$n.pem" 2>/dev/null
done
install_pair() { cat "$T/s$1.pem" "$T/ca.pem" > "$T/chain.pem"; cp "$T/s$1.key" "$T/key.pem"; }
install_pair 1
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0;
            tls_cert_file = "$T/chain.pem"; tls_key_file = "$T/key.pem"; };
CONF

out=$("$PB_BIN" -c "$WORK/bridge.conf" check-config) || fail "check-config: $out"
echo "$out" | grep '^# webhook TLS: CN=bridge 1; SANs DNS:localhost, IP:127.0.0.1; serial 03e9' >/dev/null ||
  fail "check-config does not describe the pair: $(echo "$out" | grep TLS)"
cp "$T/s2.key" "$T/key.pem"
"$PB_BIN" -c "$WORK/bridge.conf" check-config > "$WORK/cc.out" 2>&1 && fail "check-config took another certificate's key"
grep 'is not the key of' "$WORK/cc.out" >/dev/null || fail "check-config: $(cat "$WORK/cc.out")"
grep -F -- "-----BEGIN" "$WORK/cc.out" && fail "check-config printed key material"
install_pair 1
pass "check-config describes the pair, refuses another certificate's key"

start_bridge "$WORK/bridge.conf"
PORT=${BASE##*:}
URL="https://localhost:$PORT/webhooks/telnyx/portouts"
serial() { echo | openssl s_client -connect "127.0.0.1:$PORT" -servername localhost 2>/dev/null |
  openssl x509 -noout -serial 2>/dev/null | sed 's/serial=//'; }
post_tls() { # post_tls FILE [curl args] -> HTTP code
  local f=$1 ts sig; shift
  ts=$(date +%s)
  sig=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" sign "$WORK/keys/dev-private.pem" "$f" "$ts")
  curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" -X POST "$URL" \
       -H 'content-type: application/json' -H "telnyx-timestamp: $ts" \
       -H "telnyx-signature-ed25519: $sig" "$@" --data-binary @"$f" || true
}
event() { sed "s/e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b/$1/" "$FIX/webhook-status-changed.json" > "$WORK/$1.json"; echo "$WORK/$1.json"; }
for _ in $(seq 1 20); do # the first may wait for the topic's creation
  code=$(post_tls "$(event ev-tls12)" --tlsv1.2 --tls-max 1.2); [ "$code" = 503 ] || break; sleep 0.5
done
[ "$code" = 200 ] || fail "curl, TLS 1.2: $code"
[ "$(post_tls "$(event ev-tls13)" --tlsv1.3)" = 200 ] || fail "curl, TLS 1.3"
for v in 1.2 1.3; do
  r=$(python3 "$(dirname "$0")/tls_client.py" once 127.0.0.1 "$PORT" "$T/ca.pem" \
        "$WORK/keys/dev-private.pem" $v "ev-py-$v")
  [ "$r" = "200 TLSv$v" ] || fail "Python ssl, TLS $v: $r"
done
pass "signed webhooks over TLS 1.2 and 1.3: curl and Python's ssl, 200"

c=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" --tls-max 1.1 "$URL" || true)
[ "$c" = 000 ] || fail "TLS 1.1 was answered: $c"
for v in tls1 tls1_1; do
  echo | openssl s_client -connect "127.0.0.1:$PORT" -$v -cipher 'DEFAULT:@SECLEVEL=0' > "$WORK/old.out" 2>&1 || true
  grep -E 'Cipher is \(NONE\)|no protocols available|alert protocol version|unexpected eof' "$WORK/old.out" >/dev/null ||
    fail "openssl s_client -$v was not refused: $(grep -E 'Protocol|Cipher' "$WORK/old.out")"
done
c=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/webhooks/telnyx/portouts" -X POST -d '{}' || true)
[ "$c" = 000 ] || fail "plain HTTP on the TLS port was answered: $c"
pass "TLS 1.0, 1.1 and plain HTTP on the TLS port refused"

# Reload under a client that posts throughout.
[ "$(serial)" = 03E9 ] || fail "serial before the reload: $(serial)"
python3 "$(dirname "$0")/tls_client.py" loop 127.0.0.1 "$PORT" "$T/ca.pem" \
  "$WORK/keys/dev-private.pem" 60 "$WORK/loop.stop" "$WORK/loop.json" &
LOOP_PID=$!
sleep 2
install_pair 2
kill -HUP "$BRIDGE_PID"
wait_for 10 "the new certificate served" bash -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$PORT 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)\" = serial=03EA ]"
sleep 2
touch "$WORK/loop.stop"; wait $LOOP_PID; LOOP_PID=
cat "$WORK/loop.json"; echo
python3 - "$WORK/loop.json" <<'PY' || fail "the client through the reload: $(cat "$WORK/loop.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["errors"] == [] and r["ok"] == r["sent"] and r["sent"] > 50, r
assert r["serials"][0] == "03E9" and r["serials"][-1] == "03EA", r
PY
[ "$(metric "$ADMIN" portout_bridge_tls_reloads_total 'outcome="ok"')" = 1 ] || fail "reloads ok"
want=$(date -d "$(openssl x509 -in "$T/s2.pem" -noout -enddate | cut -d= -f2)" +%s)
[ "$(metric "$ADMIN" portout_bridge_tls_certificate_expiry_timestamp_seconds)" = "$want" ] ||
  fail "the expiry gauge is not the new certificate's ($want)"
grep 'reload: webhook certificate CN=bridge 2 (serial 03ea)' "$WORK/bridge.log" >/dev/null || fail "no reload line"
pass "SIGHUP: the new serial served; a client posting through it saw no error ($(python3 -c "import json; r=json.load(open('$WORK/loop.json')); print(r['sent'], 'requests,', r['connections'], 'connections')"))"

# Broken new pairs: the old one stays.
cp "$T/s1.key" "$T/key.pem" # the key of the other certificate
# `reload` asks the admin port its configuration names: the one bound here.
sed "s/^admin = .*/admin = { address = \"127.0.0.1\"; port = ${ADMIN##*:}; };/" "$WORK/bridge.conf" > "$WORK/reload.conf"
out=$("$PB_BIN" -c "$WORK/reload.conf" reload 2>&1) && fail "reload took a mismatched key: $out"
echo "$out" | grep 'is not the key of' >/dev/null || fail "reload's answer: $out"
head -c 200 "$T/s2.pem" > "$T/chain.pem" # truncated
kill -HUP "$BRIDGE_PID"
wait_for 10 "the failed reload counted" bash -c "[ \"\$(curl -s $ADMIN/metrics | sed -n 's/^portout_bridge_tls_reloads_total{outcome=\"failed\"} //p')\" = 2 ]"
[ "$(serial)" = 03EA ] || fail "the old pair was not kept: $(serial)"
[ "$(post_tls "$(event ev-after-broken)")" = 200 ] || fail "a webhook after the broken reloads"
[ "$(grep -c 'reload: the old certificate stays' "$WORK/bridge.log")" -ge 2 ] || fail "the failures were not logged"
grep -F -- "-----BEGIN" "$WORK/bridge.log" && fail "key material in the log"
pass "broken pairs (another certificate's key, a truncated PEM): refused, logged, counted; the old pair serves"
install_pair 2

# Hostile clients: 1,000 silent sockets and 200 half ClientHellos.
python3 "$(dirname "$0")/withhold.py" 127.0.0.1 "$PORT" 1000 0 idle 8 "$WORK/idle.ready" > "$WORK/idle.json" &
HOLD_PID=$!
python3 - "$PORT" 200 8 "$WORK/half.ready" > "$WORK/half.json" <<'PY' &
import asyncio, json, sys
port, n, hold, ready = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
# A TLS record header announcing a 512-byte ClientHello, and 60 bytes of it.
half = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + b"\x00" * 49
async def one(res):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(half); await w.drain(); res["opened"] += 1
        return r, w
    except OSError:
        res["refused"] += 1
async def main():
    res = {"opened": 0, "refused": 0, "closed_by_server": 0}
    conns = [c for c in await asyncio.gather(*(one(res) for _ in range(n))) if c]
    open(ready, "w").close()
    await asyncio.sleep(hold)
    for r, w in conns:
        if r.at_eof() or w.is_closing():
            res["closed_by_server"] += 1
        w.close()
    print(json.dumps(res))
asyncio.run(main())
PY
HALF_PID=$!
wait_for 60 "the hostile clients in place" test -f "$WORK/idle.ready" -a -f "$WORK/half.ready"
t0=$(now_ms); code=$(post_tls "$(event ev-under-attack)"); t1=$(now_ms)
h0=$(now_ms); hz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ADMIN/healthz"); h1=$(now_ms)
wait $HOLD_PID; HOLD_PID=; wait $HALF_PID; HALF_PID=
cat "$WORK/idle.json" "$WORK/half.json"
echo "signed webhook: $code in $((t1 - t0)) ms; /healthz: $hz in $((h1 - h0)) ms"
[ "$code" = 200 ] || fail "a signed webhook among 1,200 hostile sockets: $code"
[ $((t1 - t0)) -lt $((2000 * SLACK)) ] || fail "the signed webhook took $((t1 - t0)) ms"
[ "$hz" = 200 ] && [ $((h1 - h0)) -lt $((1000 * SLACK)) ] || fail "/healthz: $hz in $((h1 - h0)) ms"
pass "1,000 silent sockets and 200 half ClientHellos: a signed webhook 200 in $((t1 - t0)) ms, /healthz in $((h1 - h0)) ms"
stop_bridge
check_sanitizers "$WORK/bridge.log"

# The files watched (webhook.tls_watch_s): replaced in place, as a
# Kubernetes Secret or a renewal replaces them, they are reloaded without a
# signal; a broken pair is refused once, not again every second.
install_pair 1
sed -i 's/tls_key_file = "\([^"]*\)";/tls_key_file = "\1"; tls_watch_s = 1;/' "$WORK/bridge.conf"
start_bridge "$WORK/bridge.conf" "$WORK/watch.log"
PORT=${BASE##*:}
[ "$(serial)" = 03E9 ] || fail "serial at start: $(serial)"
install_pair 2
wait_for 10 "the changed files reloaded" bash -c "[ \"\$(echo | openssl s_client -connect 127.0.0.1:$PORT 2>/dev/null | openssl x509 -noout -serial 2>/dev/null)\" = serial=03EA ]"
grep 'reload: the certificate or key file changed' "$WORK/watch.log" >/dev/null || fail "no line for the change"
cp "$T/s1.key" "$T/key.pem" # broken: the key of the other certificate
wait_for 10 "the broken change refused" bash -c "[ \"\$(curl -s $ADMIN/metrics | sed -n 's/^portout_bridge_tls_reloads_total{outcome=\"failed\"} //p')\" = 1 ]"
sleep 3
[ "$(metric "$ADMIN" portout_bridge_tls_reloads_total 'outcome="failed"')" = 1 ] || fail "a broken pair was retried"
[ "$(serial)" = 03EA ] || fail "the old pair was not kept: $(serial)"
pass "webhook.tls_watch_s: files replaced in place reloaded without a signal; a broken pair refused once"
stop_bridge
check_sanitizers "$WORK/watch.log"
