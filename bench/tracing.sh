#!/usr/bin/env bash
# Benchmark (measures, never fails a build): what trace context costs.
# Replay throughput and the bridge's CPU per event, and signed webhooks'
# CPU per request, with tracing off (tracing.propagate = false), on (the
# traceparent header on every record: the default) and exporting (spans to
# an OTLP/HTTP sink on loopback, bench/otlp_sink.py), alternated in one
# session, ROUNDS times.
#   bench/tracing.sh [EVENTS] [ROUNDS] [WEBHOOK_SECONDS]   (200000, 2, 6; 0: replay only)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}; ROUNDS=${2:-2}; WS=${3:-6}
bash scripts/install-deps.sh >/dev/null
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
bash scripts/build.sh build >/dev/null
BIN=${PB_BENCH_BIN:-./build/portout-bridge}
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d)
python3 bench/otlp_sink.py "$W/sink.port" > "$W/sink.out" &
SINK=$!
trap 'kill $SINK 2>/dev/null || true; rm -rf "$W"' EXIT
for _ in $(seq 1 50); do [ -s "$W/sink.port" ] && break; sleep 0.1; done
OTLP="http://127.0.0.1:$(cat "$W/sink.port")"

# N distinct webhook deliveries (bench/replay.sh's generator).
python3 - "$N" > "$W/events.ndjson" <<'PY'
import json, sys, uuid
for i in range(int(sys.argv[1])):
    po = str(uuid.UUID(int=i % 1000))
    print(json.dumps({"data": {"event_type": "portout.status_changed", "id": str(uuid.UUID(int=2**64 + i)),
                               "occurred_at": "2026-03-05T12:30:45Z",
                               "payload": {"id": po, "status": "authorized", "phone_numbers": ["+15550100123"],
                                           "carrier_name": "Example Wireless", "spid": "123A"},
                               "record_type": "event"},
                      "meta": {"attempt": 1}}, separators=(",", ":")))
PY
conf() { # conf MODE RUN -> a configuration
  local t
  case $1 in
    off) t='tracing = { propagate = false; };' ;;
    on) t='' ;;
    export) t="tracing = { otlp_endpoint = \"$OTLP\"; };" ;;
  esac
  cat <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; };
topics = { status_changed = "$2.sc"; foc_date_changed = "$2.foc"; new_comment = "$2.nc"; other = "$2.other"; dead_letter = "$2.dlq"; };
$t
CONF
}
echo "replay of $N events (normalize, produce, every delivery report), round by round:"
printf '%-7s %-7s %12s %14s\n' round mode events/s cpu_us/event
for r in $(seq 1 "$ROUNDS"); do
  for m in off on export; do
    run=bench-tr-$(date +%s%N)
    conf $m "$run" > "$W/$m.conf"
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$W/time" "$BIN" -c "$W/$m.conf" replay --quiet "$W/events.ndjson" > /dev/null 2> "$W/replay.err"
    t1=$(date +%s.%N)
    read -r u s < <(tail -1 "$W/time")
    python3 -c "n=$N; d=$t1-$t0; print(f'{$r:<7} {\"$m\":<7} {n/d:>12,.0f} {($u+$s)/n*1e6:>14.1f}')"
  done
done
echo
echo "the trace's own work per event, apart from the machine's noise (bench/trace_cost.c):"
cmake --build build --target bench_trace_cost >/dev/null
./build/bench_trace_cost 1000000 5
[ "$WS" = 0 ] && exit 0 # replay only
echo
echo "signed webhooks (bench/webhook.sh, ${WS} s at 1, 16 and 64 connections), round by round:"
for r in $(seq 1 "$ROUNDS"); do
  for m in off on export; do
    case $m in
      off) c='tracing = { propagate = false; };' ;;
      on) c='' ;;
      export) c="tracing = { otlp_endpoint = \"$OTLP\"; };" ;;
    esac
    echo "--- round $r, tracing $m"
    PB_BENCH_CONF="$c" bash bench/webhook.sh "$WS" | grep -E '^(1|16|64) |bridge CPU'
  done
done
kill -TERM $SINK 2>/dev/null || true; wait $SINK 2>/dev/null || true
echo "spans the sink received: $(cat "$W/sink.out")"
