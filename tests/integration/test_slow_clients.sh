#!/usr/bin/env bash
# Slow and hostile clients: 1,100 connections (over webhook.max_connections)
# that send a request line and then one header every 2 seconds, forever.
# The whole-request deadline closes each of them (408), whatever their
# trickle; the admin listener's probes answer 200 throughout; and once the
# flood is gone, a real webhook is served.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
DEADLINE_MS=3000
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; max_connections = 1024; connection_timeout_s = 10;
            request_timeout_ms = $DEADLINE_MS; };
CONF
start_bridge "$WORK/bridge.conf"
N=${PB_SLOW_CLIENTS:-1100}
python3 "$(dirname "$0")/slowloris.py" 127.0.0.1 "${BASE##*:}" "$ADMIN" "$N" 2 20 > "$WORK/slow.json" \
  || fail "slowloris: $(cat "$WORK/slow.json")"
cat "$WORK/slow.json"; echo
# The probes' bounds, times PB_LATENCY_SLACK (scripts/test.sh sets 2 for the
# sanitizer binary): nine in ten answer within 0.1 s, as docs/operations.md
# promises (0.004 s and 0.024 s measured), and none takes 3 s. The
# starvation this catches is no answer at all (the 5 s timeout) or seconds
# for every probe; one probe's latency alone also measures the client, an
# asyncio loop of 1,100 connections on a machine running two test lanes
# (1.01 s and 2.005 s were seen there, with every other probe fast).
SLACK=${PB_LATENCY_SLACK:-1}
python3 - "$WORK/slow.json" "$N" "$DEADLINE_MS" "$SLACK" <<'PY' || fail "slow clients"
import json, sys
r, n, deadline = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3]) / 1000
slack = float(sys.argv[4])
assert r["open_at_end"] == 0, f"{r['open_at_end']} slow connections still open after 20 s"
assert r["closed"] + r["refused"] == n, r
# the deadline, the 0.5 s lingering close, the 0.1 s scan, and slack; those
# over the connection limit wait in the accept backlog for a slot first (one
# more deadline), then get theirs
assert r["closed_p50_s"] <= deadline + 1.5, f"median slow connection lived {r['closed_p50_s']} s"
assert r["closed_max_s"] <= 2 * deadline + 1.5, f"a slow connection lived {r['closed_max_s']} s"
assert r["probes_total"] > 50 and r["probes_failed"] == 0, f"probes failed: {r['probes']}"
assert r["probe_p90_s"] < 0.1 * slack, f"one probe in ten took {r['probe_p90_s']} s or more"
assert r["probe_max_s"] < 3.0 * slack, f"a probe took {r['probe_max_s']} s"
assert r["answers"].get("HTTP/1.1 408 Request Timeout", 0) > 0, r["answers"]
PY
curl -s "$ADMIN/metrics" > "$WORK/metrics"
n408=$(metric "$ADMIN" portout_bridge_http_requests_total 'code="408",reason="request_timeout"')
[ "$n408" -ge 1000 ] || fail "408 count $n408"
out=$(post_signed "$BASE/webhooks/telnyx/portouts" "$FIX/webhook-status-changed.json")
[[ $out == 200* ]] || fail "a real webhook after the flood: $out"

# The admin port itself: 1,000 connections, half idle, half trickling, each
# reopened as soon as it is closed. The probes must still answer, nine in ten
# within a second (64 such connections used to starve them: curl gave 000
# after 3 s).
N2=${PB_ADMIN_FLOOD:-1000}
python3 "$(dirname "$0")/slowloris.py" 127.0.0.1 "${ADMIN##*:}" "$ADMIN" "$N2" 2 8 reconnect > "$WORK/flood.json" \
  || fail "admin flood: $(cat "$WORK/flood.json")"
python3 - "$WORK/flood.json" "$SLACK" <<'PY' || fail "probes starved by connections to the admin port: $(cat "$WORK/flood.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["probes_total"] > 20 and r["probes_failed"] == 0, f"probes failed: {r['probes']}"
slack = float(sys.argv[2])
assert r["probe_p90_s"] < 0.1 * slack, f"one probe in ten took {r['probe_p90_s']} s or more"
assert r["probe_max_s"] < 3.0 * slack, f"a probe took {r['probe_max_s']} s"
PY
flood=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%d probes, p90 %s s, slowest %s s; %d reconnects, %d refused" % (r["probes_total"], r["probe_p90_s"], r["probe_max_s"], r.get("reconnects", 0), r["refused"]))' "$WORK/flood.json")
stop_bridge || fail "stop: exit $?"
check_sanitizers "$WORK/bridge.log"
summary=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("median %s s, max %s s; %d probes, p90 %s s, slowest %s s" % (r["closed_p50_s"], r["closed_max_s"], r["probes_total"], r["probe_p90_s"], r["probe_max_s"]))' "$WORK/slow.json")
pass "$N slow clients, 1024 slots: every one closed by the ${DEADLINE_MS} ms deadline ($summary), ${n408} answered 408; every admin probe 200; a real webhook served afterwards; $N2 reconnecting idle and slow connections to the admin port: $flood"
