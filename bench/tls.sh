#!/usr/bin/env bash
# Benchmark (measures, never fails a build): signed webhooks over the
# bridge's own TLS against plain HTTP, alternated in one session, ROUNDS
# times: req/s, latency and the bridge's CPU per request at 1, 16 and 64
# keep-alive connections (bench/webhook.sh).
#   bench/tls.sh [SECONDS_PER_LEVEL] [ROUNDS]   (6, 2)
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:-6}; R=${2:-2}
for r in $(seq 1 "$R"); do
  for tls in 0 1; do
    echo "--- round $r, $([ $tls = 1 ] && echo TLS || echo plain HTTP)"
    PB_BENCH_TLS=$tls bash bench/webhook.sh "$S" | grep -E '^(connections|1|16|64) |bridge CPU'
  done
done
