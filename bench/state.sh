#!/usr/bin/env bash
# Benchmark (measures, never fails a build): the state writer's added cost.
# N events over P port-outs are backfilled into fresh topics of the local
# broker; then `run` with state.enabled follows them from the beginning and
# writes the state topic. Prints the time until it has read every event, the
# API calls per event (the coalescing), the writer's CPU per event and per
# API call (the process's CPU over that time, less the same process idle for
# as long), and its peak RSS.
#   bench/state.sh [N] [P]    (default 20000 events over 2000 port-outs)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000} P=${2:-2000}
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh build >/dev/null
B=$(bash scripts/kafka-local.sh start)
W=$(mktemp -d); RUN=bench-st-$(date +%s)
python3 tests/fake_telnyx/fake_telnyx.py --events "$N" --portouts "$P" > "$W/fake.out" 2>&1 &
FPID=$!
BPID=
trap 'kill $FPID $BPID 2>/dev/null; rm -rf "$W"' EXIT
for _ in $(seq 1 300); do grep -q listening "$W/fake.out" && break; sleep 0.1; done
PORT=$(sed -n 's/listening on //p' "$W/fake.out")
export TELNYX_API_BASE=http://127.0.0.1:$PORT/v2 TELNYX_API_KEY=test-key
conf() { # conf STATE_ENABLED
  cat <<CONF
log = { level = "info"; };
kafka = { brokers = "$B"; };
topics = { status_changed = "$RUN.sc"; foc_date_changed = "$RUN.foc"; new_comment = "$RUN.nc";
           other = "$RUN.other"; dead_letter = "$RUN.dlq"; state = "$RUN.state"; };
webhook = { enabled = false; };
admin = { address = "127.0.0.1"; port = 0; };
telnyx = { poll_enabled = true; poll_interval_s = 3600; poll_lookback_s = 0; checkpoint_file = "$W/cp-$1"; };
state = { enabled = $1; group = "$RUN.state"; resync_interval_s = 0; };
CONF
}
conf false > "$W/off.conf"; conf true > "$W/on.conf"
./build/portout-bridge -c "$W/off.conf" backfill --until 2030-01-01T00:00:00Z > /dev/null
cpu_ms() { awk '{print ($14 + $15) * 1000 / 100}' "/proc/$1/stat"; } # utime+stime, USER_HZ=100
measure() { # measure CONF SECONDS|until-state -> "seconds cpu_ms rss_kib admin"
  ./build/portout-bridge -c "$1" run 2> "$W/run.log" &
  BPID=$!
  for _ in $(seq 1 300); do grep -q 'admin listening' "$W/run.log" 2>/dev/null && break; sleep 0.1; done
  local t0 c0 t1 admin
  admin="http://127.0.0.1:$(sed -n 's/.*admin listening on [0-9.]*:\([0-9]*\) .*/\1/p' "$W/run.log" | head -1)"
  t0=$(date +%s.%N); c0=$(cpu_ms $BPID)
  if [ "$2" = until-state ]; then
    for _ in $(seq 1 6000); do
      n=$(curl -s "$admin/metrics" | awk '/^portout_bridge_state_events_total / {print $2}')
      [ "${n:-0}" -ge "$N" ] && break
      sleep 0.1
    done
  else
    sleep "$2"
  fi
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$(cpu_ms $BPID) - $c0" | bc) $(awk '/VmHWM/ {print $2}' /proc/$BPID/status)"
  curl -s "$admin/metrics" > "$W/metrics"
  kill -TERM $BPID; wait $BPID || true; BPID=
}
read -r secs cpu rss <<< "$(measure "$W/on.conf" until-state)"
calls=$(awk '/^portout_bridge_state_api_calls_total / {print $2}' "$W/metrics")
events=$(awk '/^portout_bridge_state_events_total / {print $2}' "$W/metrics")
read -r _ idle idle_rss <<< "$(measure "$W/off.conf" "$secs")"
written=$(grep -F 'portout_bridge_state_fetches_total{outcome="written"}' "$W/metrics" | awk '{print $2}' || true)
echo "state writer: $events event records read in $secs s, $written state records written for $P port-outs"
echo "  API calls: $calls ($(echo "scale=3; $calls / $events" | bc) per event)"
echo "  CPU: $cpu ms with the writer, $idle ms without it over as long:" \
     "$(echo "scale=3; ($cpu - $idle) / $events" | bc) ms per event," \
     "$(echo "scale=3; ($cpu - $idle) / $calls" | bc) ms per API call"
echo "  peak RSS: $rss KiB with the writer, $idle_rss KiB without"
