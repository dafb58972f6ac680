#!/usr/bin/env bash
# Benchmark (measures, never fails a build): `portout-bridge backfill` of N
# events from the fake Telnyx API into the local broker (every delivery report
# awaited), and in the same run the same pages fetched by a plain curl loop,
# the ceiling of the API side. Then both again against a static copy of the
# same pages (bench/static-pages.js, Node), so that what is measured is the
# client's side rather than the Python fake's. Prints events/s, HTTP
# requests, peak RSS.
#   bench/backfill.sh [N]    (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-bf-$(date +%s)
python3 tests/fake_telnyx/fake_telnyx.py --events "$N" > "$W/fake.out" 2>&1 &
FPID=$!
SPID=
trap 'kill $FPID $SPID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 300); do grep -q listening "$W/fake.out" && break; sleep 0.1; done
PORT=$(sed -n 's/listening on //p' "$W/fake.out")
export TELNYX_API_BASE=http://127.0.0.1:$PORT/v2 TELNYX_API_KEY=test-key
cat > "$W/bench.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; };
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc"; other = "$RUN.other"; dead_letter = "$RUN.dlq"; };
CONF
UNTIL=2030-01-01T00:00:00Z
now() { date +%s.%N; }
td0=$(now)
./build/portout-bridge -c "$W/bench.conf" backfill --until $UNTIL --dry-run > /dev/null 2> "$W/dry"
td1=$(now)
t0=$(now)
/usr/bin/time -f '%M' -o "$W/rss" ./build/portout-bridge -c "$W/bench.conf" backfill --until $UNTIL > "$W/summary"
t1=$(now)
pages=$(( (N + 249) / 250 ))
# The ceiling: the same URLs, one reused connection, bodies thrown away.
for p in $(seq 1 $pages); do
  echo "url = \"$TELNYX_API_BASE/portouts/events?filter%5Bcreated_at%5D%5Blte%5D=2030-01-01T00%3A00%3A00Z&page%5Bnumber%5D=$p&page%5Bsize%5D=250\""
  echo "output = /dev/null"
done > "$W/curl.cfg"
t2=$(now)
curl -s -H "Authorization: Bearer test-key" -K "$W/curl.cfg"
t3=$(now)
# The same pages, saved, served as static files.
mkdir -p "$W/pages"
awk -v d="$W/pages" '/^output/ {n++; print "output = \"" d "/" n ".json\""; next} {print}' "$W/curl.cfg" > "$W/save.cfg"
curl -s -H "Authorization: Bearer test-key" -K "$W/save.cfg"
node bench/static-pages.js "$W/pages" 18099 > "$W/static.out" 2>&1 &
SPID=$!
for _ in $(seq 1 50); do grep -q listening "$W/static.out" && break; sleep 0.1; done
export TELNYX_API_BASE=http://127.0.0.1:18099/v2
sed "s|127.0.0.1:$PORT|127.0.0.1:18099|" "$W/curl.cfg" > "$W/curl-static.cfg"
t4=$(now)
./build/portout-bridge -c "$W/bench.conf" backfill --until $UNTIL > "$W/summary-static"
t5=$(now)
curl -s -H "Authorization: Bearer test-key" -K "$W/curl-static.cfg"
t6=$(now)
cat "$W/summary"
python3 - "$N" "$t4" "$t5" "$t6" <<'PY'
import sys
n, t4, t5, t6 = int(sys.argv[1]), *map(float, sys.argv[2:5])
b, c = n / (t5 - t4), n / (t6 - t5)
print(f"against static pages: backfill {b:,.0f} events/s ({t5 - t4:.2f} s), curl {c:,.0f} events/s ({t6 - t5:.2f} s), ratio {b / c:.2f}")
PY
grep -o '[0-9]* delivered, [0-9]* dead-lettered, [0-9]* failed' "$W/summary-static" | sed 's/^/against static pages: /'
python3 - "$N" "$t0" "$t1" "$t2" "$t3" "$(cat "$W/rss")" "$pages" "$td0" "$td1" <<'PY'
import sys
n, t0, t1, t2, t3, rss, pages = int(sys.argv[1]), *map(float, sys.argv[2:6]), int(sys.argv[6]), int(sys.argv[7])
td0, td1 = float(sys.argv[8]), float(sys.argv[9])
print(f"portout-bridge backfill --dry-run (fetch + normalize, no Kafka): {n / (td1 - td0):,.0f} events/s ({td1 - td0:.2f} s)")
b, c = n / (t1 - t0), n / (t3 - t2)
print(f"portout-bridge backfill (fetch + normalize + produce + all delivery reports): {b:,.0f} events/s ({t1 - t0:.2f} s)")
print(f"curl, the same {pages} pages on one connection: {c:,.0f} events/s ({t3 - t2:.2f} s)")
print(f"ratio bridge/curl: {b / c:.2f}")
print(f"bridge peak RSS: {rss / 1024:.1f} MiB")
PY
