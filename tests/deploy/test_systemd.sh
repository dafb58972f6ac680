#!/usr/bin/env bash
# The systemd unit: systemd-analyze security --offline rates it 2.0 or lower,
# systemd-analyze verify accepts it, and the binary speaks the notify protocol
# the unit relies on (Type=notify: READY=1 once serving; the watchdog pinged
# while the producer's thread turns; STOPPING=1 at SIGTERM), reading its key
# from a file as LoadCredential= hands it over (TELNYX_PUBLIC_KEY_FILE).
source "$(dirname "$0")/lib.sh"
need systemd-analyze
unit=deploy/portout-bridge.service
systemd-analyze security --offline=yes "$unit" > "$WORK/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for portout-bridge.service: \([0-9.]*\).*/\1/p' "$WORK/security.txt")
[ -n "$score" ] || { cat "$WORK/security.txt"; fail "no exposure score"; }
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" || { grep '✗' "$WORK/security.txt"; fail "exposure $score > 2.0"; }
pass "systemd-analyze security --offline=yes: exposure $score (at most 2.0)"
sed "s|/usr/bin/portout-bridge|$PB_BIN|g" "$unit" > "$WORK/portout-bridge.service"
systemd-analyze verify "$WORK/portout-bridge.service" || fail "systemd-analyze verify"
pass "systemd-analyze verify accepts the unit"

[ -n "${PB_KAFKA_BOOTSTRAP:-}" ] || skip "PB_KAFKA_BOOTSTRAP is not set"
python3 - "$WORK/notify.sock" > "$WORK/notify.log" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
t0 = time.monotonic()
try:
    while True:
        msg = s.recv(4096).decode()
        print(f"{time.monotonic() - t0:.2f} {msg!r}", flush=True)
        if "STOPPING=1" in msg:
            break
except socket.timeout:
    pass
PY
lpid=$!
for _ in $(seq 1 50); do [ -S "$WORK/notify.sock" ] && break; sleep 0.1; done
node scripts/webhook-dev.js keygen "$WORK/keys" > "$WORK/cred"   # the credential file
cat > "$WORK/bridge.conf" <<CONF
kafka = { brokers = "$PB_KAFKA_BOOTSTRAP"; };
webhook = { address = "127.0.0.1"; port = 0; };
admin = { address = "127.0.0.1"; port = 0; };
CONF
NOTIFY_SOCKET="$WORK/notify.sock" WATCHDOG_USEC=1000000 TELNYX_PUBLIC_KEY_FILE="$WORK/cred" \
  "$PB_BIN" -c "$WORK/bridge.conf" run > "$WORK/bridge.log" 2>&1 &
bpid=$!
for _ in $(seq 1 100); do grep -q 'READY=1' "$WORK/notify.log" && break; sleep 0.1; done
grep -q 'READY=1' "$WORK/notify.log" || { cat "$WORK/bridge.log"; fail "no READY=1"; }
grep -q 'msg="running' "$WORK/bridge.log" || fail "READY=1 before the bridge serves"
grep -q '1 public key(s), signatures checked' "$WORK/bridge.log" || fail "the key file was not read"
sleep 2
kill -TERM $bpid; wait $bpid || fail "exit $? at SIGTERM"
wait $lpid || true
pings=$(grep -c 'WATCHDOG=1' "$WORK/notify.log" || true)
[ "$pings" -ge 3 ] || { cat "$WORK/notify.log"; fail "$pings watchdog pings in 2 s (interval 1 s)"; }
grep -q 'STOPPING=1' "$WORK/notify.log" || fail "no STOPPING=1"
pass "notify protocol: READY=1 once serving, $pings watchdog pings in ~2 s, STOPPING=1 at SIGTERM; key read from TELNYX_PUBLIC_KEY_FILE"
