#!/usr/bin/env bash
# Benchmark (measures, never fails a build): replay N events into the local
# broker, and in the same run produce the same envelopes with kcat -P (the
# librdkafka ceiling on this machine). Prints events/s of both, their ratio
# and the bridge's peak RSS.
#   bench/replay.sh [N]      (default 200000)
# PB_BENCH_PROPS: the bridge's kafka.properties, quoted as in the config (default:
# none, the bridge's own producer defaults). PB_BENCH_BIN: the binary (default build/portout-bridge),
# e.g. to compare two builds side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200000}
bash scripts/install-deps.sh >/dev/null
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
bash scripts/build.sh build >/dev/null
BIN=${PB_BENCH_BIN:-./build/portout-bridge}
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
RUN=bench-$(date +%s)

# N distinct webhook deliveries over 1000 port-outs, the three event types mixed.
python3 - "$N" > "$W/events.ndjson" <<'PY'
import json, sys, uuid
n = int(sys.argv[1])
types = ["portout.status_changed", "portout.foc_date_changed", "portout.new_comment"]
for i in range(n):
    t = types[i % 3]
    po = str(uuid.UUID(int=i % 1000))
    payload = {"id": po, "status": "authorized", "phone_numbers": ["+1555010%04d" % (i % 10000)],
               "carrier_name": "Example Wireless", "spid": "123A", "user_id": str(uuid.UUID(int=7))}
    if t == "portout.new_comment":
        payload = {"id": str(uuid.UUID(int=10**9 + i)), "portout_id": po, "comment": "Please confirm.", "user_id": str(uuid.UUID(int=7))}
    elif t == "portout.foc_date_changed":
        payload = {"id": po, "foc_date": "2026-03-10T00:00:00Z", "user_id": str(uuid.UUID(int=7))}
    print(json.dumps({"data": {"event_type": t, "id": str(uuid.UUID(int=2**64 + i)), "occurred_at": "2026-03-05T12:30:45Z",
                               "payload": payload, "record_type": "event"},
                      "meta": {"attempt": 1, "delivered_to": "https://hooks.example.org/telnyx/portout"}}, separators=(",", ":")))
PY
cat > "$W/bench.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; properties = ( ${PB_BENCH_PROPS:-} ); }; # default: the bridge's producer defaults
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc"; other = "$RUN.other"; dead_letter = "$RUN.dlq"; };
CONF
# The same envelopes, for kcat (one topic, key-less: the ceiling).
"$BIN" -c "$W/bench.conf" normalize "$W/events.ndjson" > "$W/envelopes.ndjson"

now() { date +%s.%N; }
t0=$(now)
/usr/bin/time -f '%M' -o "$W/rss" "$BIN" -c "$W/bench.conf" replay "$W/events.ndjson" > "$W/summary"
t1=$(now)
kcat -P -b "$B" -t "$RUN.kcat" -X enable.idempotence=true -X acks=all -X linger.ms=5 -l "$W/envelopes.ndjson"
t2=$(now)

python3 - "$N" "$t0" "$t1" "$t2" "$(cat "$W/rss")" "$(du -b "$W/envelopes.ndjson" | cut -f1)" <<'PY'
import sys
n, t0, t1, t2, rss, size = int(sys.argv[1]), *map(float, sys.argv[2:5]), int(sys.argv[5]), int(sys.argv[6])
bridge, kcat = n / (t1 - t0), n / (t2 - t1)
print(f"events: {n}, mean envelope {size / n:.0f} bytes")
print(f"portout-bridge replay (normalize + produce + wait for every delivery report): {bridge:,.0f} events/s ({t1 - t0:.2f} s)")
print(f"kcat -P of the same envelopes (acks=all, idempotent): {kcat:,.0f} events/s ({t2 - t1:.2f} s)")
print(f"ratio bridge/kcat: {bridge / kcat:.2f}")
print(f"bridge peak RSS: {rss / 1024:.1f} MiB")
PY
grep "^replay:" "$W/summary"
