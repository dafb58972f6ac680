#!/usr/bin/env bash
# Soak: webhooks for a while (default 10 minutes) from the fake Telnyx (signed,
# retried as Telnyx does), with the broker stopped for 60 s in the middle.
# Reports what was lost (must be 0: every webhook answered 200 is in Kafka),
# what was answered 503, and the bridge's RSS over time (it must stay flat and
# bounded by the configured queue). Measures; never fails a build.
#   bench/soak.sh [DURATION_S] [RATE] [OUTAGE_S]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-600}; RATE=${2:-200}; OUTAGE=${3:-60}
PORT=${SOAK_KAFKA_PORT:-9392}
WORK=$(mktemp -d /tmp/pb-soak-XXXXXX)
BIN=${PB_BIN:-$PWD/build/portout-bridge}
kl() { KAFKA_PORT=$PORT bash scripts/kafka-local.sh "$@"; }
cleanup() { [ -n "${BP:-}" ] && kill "$BP" 2>/dev/null; [ -n "${FP:-}" ] && kill "$FP" 2>/dev/null; kl stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
BOOT=$(kl start)
PUB=$(node scripts/webhook-dev.js keygen "$WORK/keys")
R=soak-$(date +%s)
cat > "$WORK/bridge.conf" <<CONF
log = { level = "info"; };
kafka = { brokers = "$BOOT"; properties = ( "linger.ms=5", "message.timeout.ms=600000" ); };
topics = { status_changed = "$R.s"; foc_date_changed = "$R.f"; new_comment = "$R.n"; other = "$R.o"; dead_letter = "$R.d"; };
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
admin = { address = "127.0.0.1"; port = 0; };
CONF
TELNYX_PUBLIC_KEY=$PUB "$BIN" -c "$WORK/bridge.conf" run > "$WORK/bridge.log" 2>&1 &
BP=$!
for _ in $(seq 1 100); do grep -q 'msg="running' "$WORK/bridge.log" && break; sleep 0.1; done
grep -q 'msg="running' "$WORK/bridge.log" || { cat "$WORK/bridge.log"; echo "soak: the bridge did not start" >&2; exit 1; }
HOOK="http://127.0.0.1:$(sed -n 's/.*msg="listening on [0-9.]*:\([0-9]*\),.*/\1/p' "$WORK/bridge.log")/hook"
python3 tests/fake_telnyx/fake_telnyx.py --events 0 > "$WORK/fake.out" 2>&1 &
FP=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/fake.out" && break; sleep 0.1; done
FAKE="http://127.0.0.1:$(sed -n 's/listening on //p' "$WORK/fake.out")"
curl -sf -X POST "$FAKE/_admin/webhooks/start" \
  -d "{\"url\": \"$HOOK\", \"key\": \"$WORK/keys/dev-private.pem\", \"rate\": $RATE, \"count\": $((DURATION * RATE)), \"threads\": 16}" > /dev/null
start=$(date +%s); down_at=$(( DURATION / 2 - OUTAGE / 2 )); up_at=$(( down_at + OUTAGE ))
echo "t_s rss_kib acked statuses" > "$WORK/rss.tsv"
state=up
while :; do
  t=$(( $(date +%s) - start ))
  [ $t -ge $DURATION ] && break
  if [ $state = up ] && [ $t -ge $down_at ]; then kl stop >/dev/null 2>&1; state=down; echo "t=${t}s broker stopped"; fi
  if [ $state = down ] && [ $t -ge $up_at ]; then kl start >/dev/null; state=back; echo "t=${t}s broker started"; fi
  rss=$(awk '/VmRSS/ {print $2}' /proc/$BP/status)
  st=$(curl -sf "$FAKE/_admin/webhooks?summary=1" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["acked_count"], json.dumps(r["status"]).replace(" ", ""))')
  echo "$t $rss $st" >> "$WORK/rss.tsv"
  sleep 10
done
curl -sf -X POST "$FAKE/_admin/webhooks/finish" > /dev/null
for _ in $(seq 1 600); do
  curl -sf "$FAKE/_admin/webhooks" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin).get("done") else 1)' && break
  sleep 1
done
curl -sf "$FAKE/_admin/webhooks" > "$WORK/acked.json"
kill -TERM $BP; wait $BP || true; BP=""
for t in s f n; do kcat -C -b "$BOOT" -t "$R.$t" -o beginning -e -q -f '%h\n' 2>/dev/null | tr ',' '\n' | sed -n 's/^ce_id=//p'; done > "$WORK/ids"
python3 - "$WORK/acked.json" "$WORK/ids" "$WORK/rss.tsv" "$DURATION" "$RATE" "$OUTAGE" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
count = collections.Counter(l.strip() for l in open(sys.argv[2]) if l.strip())
lost = [i for i in r["acked"] if i not in count]
rows = [l.split() for l in open(sys.argv[3])][1:]
rss = [int(x[1]) for x in rows]
print(f"soak: {sys.argv[4]} s at {sys.argv[5]} webhooks/s, broker down {sys.argv[6]} s in the middle")
print(f"  webhooks answered 200: {len(r['acked'])}; lost (200 but not in Kafka): {len(lost)}")
print(f"  attempts {r['attempts']}, statuses {r['status']}; duplicates in Kafka: {sum(n - 1 for n in count.values() if n > 1)}")
print(f"  RSS KiB: start {rss[0]}, min {min(rss)}, max {max(rss)}, end {rss[-1]}")
print("  RSS over time (s: KiB): " + ", ".join(f"{x[0]}: {x[1]}" for x in rows))
PY
echo "work dir: $WORK"
