#!/usr/bin/env bash
# Benchmark (measures, never fails a build): signed webhooks against
# `portout-bridge run` with acks=all to the local broker, at 1, 16 and 64
# connections (wrk, pre-signed distinct requests within the replay window).
# Prints requests/s, latency p50/p99/max, non-200 answers, the bridge's peak RSS.
#   bench/webhook.sh [SECONDS_PER_LEVEL]   (default 8)
# PB_BENCH_BIN: the binary (default build/portout-bridge). PB_BENCH_CONF:
# configuration appended (e.g. 'dedupe = { from_kafka = false; };').
# PB_BENCH_TLS=1: the listener speaks TLS (a throwaway CA and certificate),
# wrk keeps its connections alive as Telnyx's sender does.
# PB_BENCH_PERF=FILE: perf record (call graphs by DWARF) of the bridge during
# the 64-connection level into FILE; PB_BENCH_LEVELS: the levels (default
# "1 16 64").
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-8}
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-wh-$(date +%s)
PUB=$(node scripts/webhook-dev.js keygen "$W/keys")
SCHEME=http TLSCONF=
if [ "${PB_BENCH_TLS:-0}" = 1 ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/tls.key" \
    -out "$W/tls.pem" -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  SCHEME=https TLSCONF="tls_cert_file = \"$W/tls.pem\"; tls_key_file = \"$W/tls.key\";"
fi
cat > "$W/bench.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; properties = ( ); }; # the bridge's producer defaults
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc"; other = "$RUN.other"; dead_letter = "$RUN.dlq"; };
webhook = { address = "127.0.0.1"; port = 18080; paths = "/hook"; ack_timeout_ms = 10000; max_connections = 256; $TLSCONF };
admin = { address = "127.0.0.1"; port = 18081; };
${PB_BENCH_CONF:-}
CONF
TELNYX_PUBLIC_KEY=$PUB "${PB_BENCH_BIN:-./build/portout-bridge}" -c "$W/bench.conf" run 2> "$W/bridge.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18081/readyz >/dev/null && break; sleep 0.1; done
printf '%-12s %10s %9s %9s %9s %8s\n' connections req/s p50_ms p99_ms max_ms non-200
for c in ${PB_BENCH_LEVELS:-1 16 64}; do
  node bench/sign-requests.js "$W/keys/dev-private.pem" 200000 "$RUN-c$c" > "$W/reqs.tsv"
  t=$(( c < 2 ? 1 : 2 ))
  PERFPID=
  if [ -n "${PB_BENCH_PERF:-}" ] && [ "$c" = 64 ]; then
    perf record -F 999 --call-graph dwarf,16384 -o "$PB_BENCH_PERF" -p $PID -- sleep $((D - 2)) 2>/dev/null &
    PERFPID=$!
  fi
  wrk -t"$t" -c"$c" -d"${D}s" --latency -s bench/wrk-webhook.lua $SCHEME://127.0.0.1:18080/hook -- "$W/reqs.tsv" "$t" > "$W/wrk.txt"
  [ -z "$PERFPID" ] || wait $PERFPID
  python3 - "$c" "$W/wrk.txt" <<'PY'
import re, sys
c, t = sys.argv[1], open(sys.argv[2]).read()
def ms(v, u): return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p = {k: ms(v, u) for k, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", t, re.M)}
mx = re.search(r"Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", t)
non = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{c:<12} {rps:>10.0f} {p['50']:>9.2f} {p['99']:>9.2f} {ms(*mx.groups()):>9.2f} {int(non.group(1)) if non else 0:>8}")
PY
done
echo "bridge peak RSS: $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$PID/status)"
# CPU per answered request, over the whole run (all three levels).
cpu=$(awk '{print $14 + $15}' /proc/$PID/stat)
reqs=$(curl -s http://127.0.0.1:18081/metrics | awk '/^portout_bridge_http_requests_total/ {n += $2} END {print n + 0}')
python3 -c "import os; t = $cpu / os.sysconf('SC_CLK_TCK'); print(f'bridge CPU: {t:.1f} s for $reqs requests, {t / max($reqs, 1) * 1e6:.0f} us per request')"
curl -s http://127.0.0.1:18080/metrics | grep -E '^portout_bridge_(http_requests_total|webhook_duplicates_total)' || true
