#!/usr/bin/env bash
# A second instance with the same configuration must not start silently: on
# the same port it would take half the webhooks (a stale instance with old
# keys answering some of them), on the same checkpoint two pollers would
# race. It fails with a clear message (exit 69); port sharing only by an
# explicit webhook.reuse_port.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; [ -n "${B_PID:-}" ] && kill $B_PID 2>/dev/null; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 5
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
telnyx = { poll_enabled = true; poll_interval_s = 1; checkpoint_file = "$WORK/checkpoint.json"; };
CONF
start_bridge "$WORK/bridge.conf" "$WORK/a.log"
A_PID=$BRIDGE_PID
# The ports the kernel gave it: the configuration a second instance copies
# names them (picking free ports first and binding later races other tests).
HOOK=${BASE##*:}; ADM=${ADMIN##*:}
sed -i "s/admin = { address = \"127.0.0.1\"; port = 0; };/admin = { address = \"127.0.0.1\"; port = $ADM; };/; s/port = 0; paths/port = $HOOK; paths/" "$WORK/bridge.conf"
grep -q "port = $ADM;" "$WORK/bridge.conf" && grep -q "port = $HOOK; paths" "$WORK/bridge.conf" || fail "the ports did not go into the configuration"

# The container HEALTHCHECK's command: asks this configuration's admin port.
"$PB_BIN" -c "$WORK/bridge.conf" healthcheck | grep -q '"status":"ok"' || fail "healthcheck"
"$PB_BIN" -c "$WORK/bridge.conf" healthcheck --ready | grep -q '"status":"ready"' || fail "healthcheck --ready"
pass "healthcheck and healthcheck --ready exit 0 against the running bridge"

second() { # second CONF LOG -> exit code, within 20 s
  set +e; timeout 20 "$PB_BIN" -c "$1" run > "$2" 2>&1; local rc=$?; set -e; echo $rc
}
rc=$(second "$WORK/bridge.conf" "$WORK/b.log")
[ "$rc" = 69 ] || { cat "$WORK/b.log"; fail "second instance on the same ports: exit $rc, want 69"; }
grep -q "cannot listen on 127.0.0.1:$ADM" "$WORK/b.log" || fail "no clear message: $(cat "$WORK/b.log")"
pass "a second instance with the same configuration is refused (exit 69): $(grep -o 'admin listener: cannot listen[^"]*' "$WORK/b.log" | head -1)"

# Other admin port, same webhook port.
sed "s/port = $ADM;/port = 0;/" "$WORK/bridge.conf" > "$WORK/c.conf"
rc=$(second "$WORK/c.conf" "$WORK/c.log")
[ "$rc" = 69 ] && grep -q "webhook listener: cannot listen on 127.0.0.1:$HOOK" "$WORK/c.log" \
  || { cat "$WORK/c.log"; fail "second instance on the webhook port: exit $rc"; }
pass "the webhook port is exclusive: exit 69, message names the listener and port"

# Other ports, same checkpoint.
sed "s/port = $HOOK;/port = 0;/" "$WORK/c.conf" > "$WORK/d.conf"
rc=$(second "$WORK/d.conf" "$WORK/d.log")
[ "$rc" = 69 ] && grep -q "in use by another poller (pid $A_PID)" "$WORK/d.log" \
  || { cat "$WORK/d.log"; fail "second poller on one checkpoint: exit $rc"; }
pass "a second poller on the same checkpoint is refused (exit 69), naming the holder's pid"

# The first one is unharmed and still serves.
kill -0 $A_PID || fail "the first instance died"
out=$(post_signed "http://127.0.0.1:$HOOK/hook" "$FIX/webhook-status-changed.json")
[[ $out == 200* ]] || fail "first instance after the attempts: $out"
stop_bridge || fail "stop"
check_sanitizers "$WORK/a.log" "$WORK/b.log" "$WORK/c.log" "$WORK/d.log"
set +e; "$PB_BIN" -c "$WORK/bridge.conf" healthcheck > /dev/null 2> "$WORK/hc.err"; rc=$?; set -e
[ $rc -eq 1 ] && grep -q "Couldn't connect\|Connection refused\|Failed to connect" "$WORK/hc.err" || fail "healthcheck with nothing running: $rc $(cat "$WORK/hc.err")"
pass "healthcheck exits 1 when nothing answers"

# Sharing, when asked for explicitly (both sides), without polling.
sed "s/poll_enabled = true/poll_enabled = false/; s/paths = \"\/hook\";/paths = \"\/hook\"; reuse_port = true;/" "$WORK/c.conf" > "$WORK/share.conf"
start_bridge "$WORK/share.conf" "$WORK/s1.log"
"$PB_BIN" -c "$WORK/share.conf" run > "$WORK/s2.log" 2>&1 &
B_PID=$!
for _ in $(seq 1 100); do grep -q 'msg="running' "$WORK/s2.log" && break; sleep 0.1; done
grep -q 'msg="running' "$WORK/s2.log" || { cat "$WORK/s2.log"; fail "webhook.reuse_port = true: the second did not start"; }
kill -TERM $B_PID; wait $B_PID || fail "second sharing instance exit $?"; B_PID=""
stop_bridge || fail "stop"
check_sanitizers "$WORK/s1.log" "$WORK/s2.log"
pass "webhook.reuse_port = true on both: they share the port"
