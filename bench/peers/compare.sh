#!/usr/bin/env bash
# Benchmark (measures, never fails a build): the bridge and the peer side by
# side in one run, on the same broker, with the same pre-signed requests.
#   bench/peers/compare.sh [SECONDS_PER_LEVEL] [LEVELS]   (default 8, "1 16 64")
# Bridge: `portout-bridge run`, acks=all + idempotence, every signature
# verified, 200 only after the delivery report. Peer: Benthos v4.27.0
# (bench/peers/benthos/config.yaml): http_server -> Bloblang to the same
# envelope -> kafka_franz (idempotent, acks=all), answers after the output
# acknowledged, checks no signature.
# Per level: requests/s, p50/p99 ms (wrk), CPU µs per answered request
# (utime+stime from /proc/PID/stat over the level), non-2xx; then idle and
# peak RSS.
# PB_BENCH_BIN: another bridge binary (e.g. a build of an older commit, for a
# before/after pair of runs, each with the peer beside it).
# PB_BENCH_PROPS: the bridge's kafka.properties (default: none, the bridge's
# own defaults).
set -euo pipefail
cd "$(dirname "$0")/../.."
D=${1:-8}
LEVELS=${2:-"1 16 64"}
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
BIN=${PB_BENCH_BIN:-./build/portout-bridge}
PEER=$(bash bench/peers/build.sh)
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-cmp-$(date +%s)
PUB=$(node scripts/webhook-dev.js keygen "$W/keys")
PROPS=${PB_BENCH_PROPS:-}
cat > "$W/bridge.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; properties = ( $PROPS ); };
topics = { status_changed = "$RUN.b.sc"; foc_date_changed = "$RUN.b.foc"; new_comment = "$RUN.b.nc"; other = "$RUN.b.other"; dead_letter = "$RUN.b.dlq"; };
webhook = { address = "127.0.0.1"; port = 18080; paths = "/hook"; ack_timeout_ms = 10000; max_connections = 256; };
admin = { address = "127.0.0.1"; port = 18081; };
CONF
TELNYX_PUBLIC_KEY=$PUB "$BIN" -c "$W/bridge.conf" run 2> "$W/bridge.log" &
BPID=$!
KAFKA_BROKERS=$B PEER_PORT=18090 PEER_TOPIC_PREFIX=$RUN.p "$PEER" -c bench/peers/benthos/config.yaml > "$W/peer.log" 2>&1 &
PPID_=$!
trap 'kill $BPID $PPID_ 2>/dev/null; wait $BPID $PPID_ 2>/dev/null; [ -n "${PB_KEEP_WORK:-}" ] || rm -rf "$W"' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.1; done
# One request each, so both have their Kafka connections and topics (created
# by the broker on first use) before anything is measured.
node bench/sign-requests.js "$W/keys/dev-private.pem" 1 "$RUN-warm" > "$W/warm.tsv"
IFS=$'\t' read -r ts sig body < "$W/warm.tsv"
for port in 18080 18090; do
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $sig" \
      -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$port/hook" || true)
    [ "$code" = 200 ] && break; sleep 0.2
  done
  [ "$code" = 200 ] || { cat "$W/bridge.log" "$W/peer.log"; echo "compare: port $port answered $code" >&2; exit 1; }
done
sleep 3
rss() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
BIDLE=$(rss $BPID VmRSS); PIDLE=$(rss $PPID_ VmRSS)
TCK=$(getconf CLK_TCK)
printf '| conns | bridge req/s | peer req/s | bridge p50 / p99 ms | peer p50 / p99 ms | bridge CPU/req | peer CPU/req | non-2xx b/p |\n|---|---|---|---|---|---|---|---|\n'
for c in $LEVELS; do
  t=$(( c < 2 ? 1 : 2 ))
  for who in bridge peer; do
    if [ $who = bridge ]; then port=18080; pid=$BPID; else port=18090; pid=$PPID_; fi
    node bench/sign-requests.js "$W/keys/dev-private.pem" 200000 "$RUN-$who-c$c" > "$W/reqs.tsv"
    c0=$(cpu $pid)
    wrk -t"$t" -c"$c" -d"${D}s" --latency -s bench/wrk-webhook.lua "http://127.0.0.1:$port/hook" -- "$W/reqs.tsv" "$t" > "$W/wrk-$who.txt"
    c1=$(cpu $pid)
    echo $(( c1 - c0 )) > "$W/cpu-$who"
  done
  python3 - "$c" "$W" "$TCK" <<'PY'
import re, sys
c, w, tck = sys.argv[1], sys.argv[2], int(sys.argv[3])
def ms(v, u): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
out = {}
for who in ("bridge", "peer"):
    t = open(f"{w}/wrk-{who}.txt").read()
    total = int(re.search(r"(\d+) requests in", t).group(1))
    non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    non = int(non.group(1)) if non else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    p = {k: ms(v, u) for k, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
    ticks = int(open(f"{w}/cpu-{who}").read())
    cpu_us = ticks * 1e6 / tck / max(total - non, 1)
    out[who] = (rps, p["50"], p["99"], cpu_us, non)
b, q = out["bridge"], out["peer"]
print(f"| {c} | {b[0]:,.0f} | {q[0]:,.0f} | {b[1]:.2f} / {b[2]:.2f} | {q[1]:.2f} / {q[2]:.2f} | {b[3]:.0f} µs | {q[3]:.0f} µs | {b[4]}/{q[4]} |")
PY
done
echo
echo "RSS: bridge $BIDLE MiB idle, $(rss $BPID VmHWM) MiB peak; peer $PIDLE MiB idle, $(rss $PPID_ VmHWM) MiB peak"
echo "peer: $("$PEER" --version 2>/dev/null | head -1)"
