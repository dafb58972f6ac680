#!/usr/bin/env bash
# Memory at rest (measures, never fails): `run` with the defaults (webhooks,
# the admin listener, the exactly-once index) against the local broker, one
# signed webhook delivered, then idle; prints VmRSS, smaps_rollup's split
# and the resident kB of each mapping (file-backed by library; anonymous
# as heap, thread stacks and the rest), and the same for a C program that
# only links libcurl and calls curl_global_init(), as librdkafka does at
# its first client: the floor under any process that links Debian's libcurl.
#   bench/idle-rss.sh [SECONDS_IDLE]   (default 5)
# PB_BENCH_BIN: the binary (default build/portout-bridge).
set -euo pipefail
cd "$(dirname "$0")/.."
IDLE=${1:-5}
BIN=${PB_BENCH_BIN:-./build/portout-bridge}
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-rss-$(date +%s)
PUB=$(node scripts/webhook-dev.js keygen "$W/keys")
cat > "$W/bridge.conf" <<CONF
log = { level = "warn"; };
kafka = { brokers = "$B"; };
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc"; other = "$RUN.other"; dead_letter = "$RUN.dlq"; };
webhook = { address = "127.0.0.1"; port = 18280; };
admin = { address = "127.0.0.1"; port = 18281; };
CONF
TELNYX_PUBLIC_KEY=$PUB "$BIN" -c "$W/bridge.conf" run 2> "$W/bridge.log" &
BPID=$!
trap 'kill $BPID 2>/dev/null; wait $BPID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18281/readyz >/dev/null && break; sleep 0.1; done
node bench/sign-requests.js "$W/keys/dev-private.pem" 1 "$RUN" > "$W/one.tsv"
IFS=$'\t' read -r ts sig body < "$W/one.tsv"
for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "telnyx-timestamp: $ts" -H "telnyx-signature-ed25519: $sig" \
    -H 'Content-Type: application/json' --data-binary "$body" http://127.0.0.1:18280/webhooks/telnyx/portouts || true)
  [ "$code" = 200 ] && break; sleep 0.2
done
[ "$code" = 200 ] || { cat "$W/bridge.log"; echo "idle-rss: the webhook answered $code" >&2; exit 1; }
sleep "$IDLE"

# Resident kB per mapping, summed by name: libraries by file, anonymous
# mappings as [heap], [stack], or anon (thread stacks, malloc arenas,
# librdkafka's buffers).
per_mapping() {
  awk '/^[0-9a-f]+-[0-9a-f]+ / {n = $6; if (n == "") n = "anon"; sub(".*/", "", n); next}
       /^Rss:/ {r[n] += $2} END {for (k in r) if (r[k]) printf "%7d kB  %s\n", r[k], k}' "/proc/$1/smaps" |
    sort -rn | head -"${2:-20}"
}
echo "portout-bridge run (pid $BPID), $(grep -c . /proc/$BPID/task/*/comm 2>/dev/null | wc -l) threads, idle ${IDLE}s:"
grep -E '^(VmRSS|VmHWM)' /proc/$BPID/status
grep -E '^(Rss|Anonymous|Shared_Clean|Private_Clean|Private_Dirty)' /proc/$BPID/smaps_rollup
per_mapping $BPID 20

cat > "$W/curl-floor.c" <<'C'
#include <curl/curl.h>
#include <unistd.h>
int main(void) { curl_global_init(CURL_GLOBAL_DEFAULT); pause(); return 0; }
C
cc -O2 "$W/curl-floor.c" -o "$W/curl-floor" -lcurl
"$W/curl-floor" & FPID=$!
sleep 1
echo
echo "the floor: a C program linking libcurl, after curl_global_init():"
grep -E '^VmRSS' /proc/$FPID/status
per_mapping $FPID 8
kill $FPID
