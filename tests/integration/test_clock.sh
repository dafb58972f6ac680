#!/usr/bin/env bash
# A host clock that is wrong, or steps (libfaketime, Debian's faketime):
#  1. The bridge's host clock 10 minutes ahead of Telnyx's, then 10 minutes
#     behind, against an API that lists events 1.5 s after their
#     created_at: polling works in Telnyx's time, so no event is missed.
#     Both run the bridge itself under libfaketime (the fake API keeps the
#     true time). librdkafka, linked in statically with its own C11-threads
#     shim, waits through pthread_cond_timedwait, which libfaketime maps
#     back to the kernel's clock, so it starts and runs under either skew.
#     (libfaketime 0.9.10 also times a CLOCK_MONOTONIC condition variable
#     out early when FAKETIME_DONT_FAKE_MONOTONIC is set, libfaketime PR
#     #503: the bridge's timer threads spin under it, about one core each.
#     That is the tool's doing, not a real skewed clock's: the same run
#     without libfaketime uses 0.06 s of CPU. So no CPU bound here.)
#  2. The wall clock steps 10 minutes forward while the bridge runs (an NTP
#     step): SIGTERM still stops it within its bound, because every wait and
#     every TTL runs on CLOCK_MONOTONIC.
# CLOCK_MONOTONIC is left alone (FAKETIME_DONT_FAKE_MONOTONIC), as a real
# clock step leaves it.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; stop_fake; work_done' EXIT
FT=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$FT" ] || fail "libfaketime is not installed (scripts/install-deps.sh installs faketime)"
# ASan must come first in the library list; libfaketime is preloaded before it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

skewed_run() { # skewed_run +10m|-10m
  RUN_ID=clock$(echo "$1" | tr '+-' 'pm')-$(date +%s)-$RANDOM
  local wrap="env LD_PRELOAD=$FT FAKETIME=$1 FAKETIME_DONT_FAKE_MONOTONIC=1"
  start_fake 0 --visibility-delay-ms 1500
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
webhook = { enabled = false; };
telnyx = { poll_enabled = true; poll_interval_s = 1; checkpoint_file = "$WORK/cp$1.json";
           retry_base_ms = 50; retry_max_ms = 200; };
CONF
  PB_WRAP="$wrap" start_bridge "$WORK/bridge.conf" "$WORK/skew$1.log"
  for _ in $(seq 1 9); do
    curl -sf -X POST "$FAKE/_admin/insert" -d '{"count": 1}' > /dev/null
    sleep 1
  done
  curl -sf "$FAKE/_admin/ids" | python3 -c 'import json,sys; [print(i) for i in json.load(sys.stdin)["ids"]]' | sort > "$WORK/want"
  for _ in $(seq 1 100); do
    event_ids | sort -u > "$WORK/got"
    comm -23 "$WORK/want" "$WORK/got" > "$WORK/missing"
    [ -s "$WORK/missing" ] || break
    sleep 0.2
  done
  local first
  first=$(curl -sf "$FAKE/_admin/events" | python3 -c 'import json,sys; print(json.load(sys.stdin)["events"][0]["created_at"])')
  stop_bridge || fail "stop (clock $1): exit $?"
  check_sanitizers "$WORK/skew$1.log"
  [ ! -s "$WORK/missing" ] || { grep 'poll:' "$WORK/skew$1.log" | tail -5; fail "host clock $1: missed $(wc -l < "$WORK/missing") of 9 events"; }
  # The skew held: the bridge's own log is in its (wrong) time.
  local bts; bts=$(grep -m1 -o 'ts=[^ ]*' "$WORK/skew$1.log" | cut -c4-)
  python3 - "$bts" "$first" "$1" <<'PY' || fail "host clock $1: the bridge did not run with its clock moved (log $bts, Telnyx $first)"
import sys, datetime as d
p = lambda s: d.datetime.fromisoformat(s.replace("Z", "+00:00"))
skew = (p(sys.argv[1]) - p(sys.argv[2])).total_seconds()
want = 600 if sys.argv[3].startswith("+") else -600
assert abs(skew - want) < 60, skew
PY
  pass "host clock $1 of Telnyx's (bridge log $(grep -m1 -o 'ts=[^ ]*' "$WORK/skew$1.log" | cut -c15-22), Telnyx created_at ${first:11:8}), events listed 1.5 s late: 9 of 9 in Kafka"
}
skewed_run +10m
skewed_run -10m

# --- 2. a wall-clock step while running, then SIGTERM
echo "+0" > "$WORK/clock"
RUN_ID=step-$(date +%s)-$RANDOM
write_config
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; ack_timeout_ms = 500; };
dedupe = { ttl_s = 60; };
CONF
sed -i 's/kafka = {/kafka = { flush_timeout_ms = 2000;/' "$WORK/bridge.conf"
TELNYX_PUBLIC_KEY=$PUB PB_WRAP="env LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$WORK/clock FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1" \
  start_bridge "$WORK/bridge.conf" "$WORK/step.log"
out=$(post_signed "$BASE/webhooks/telnyx/portouts" "$FIX/webhook-status-changed.json")
[[ $out == 200* ]] || fail "before the step: $out"
echo "+10m" > "$WORK/clock"
sleep 2
# Still the same bridge: the delivered id is remembered (a monotonic TTL, not
# one the wall clock just expired), and probes answer.
out=$(post_signed "$BASE/webhooks/telnyx/portouts" "$FIX/webhook-status-changed.json" 600)
[[ $out == 200* ]] && echo "$out" | grep -q '"status":"duplicate"' || fail "after the step: $out"
curl -sf "$ADMIN/healthz" > /dev/null || fail "healthz after the step"
t0=$(date +%s%N)
kill -TERM "$BRIDGE_PID"
for _ in $(seq 1 300); do kill -0 "$BRIDGE_PID" 2>/dev/null || break; sleep 0.05; done
took_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if kill -0 "$BRIDGE_PID" 2>/dev/null; then
  kill -9 "$BRIDGE_PID"; BRIDGE_PID=""
  fail "after a 10-minute wall-clock step, SIGTERM did not stop the bridge within 15 s"
fi
set +e; wait "$BRIDGE_PID"; rc=$?; set -e; BRIDGE_PID=""
check_sanitizers "$WORK/step.log"
[ $rc -eq 0 ] || fail "exit $rc after the step"
# Nothing in flight: no grace is used; librdkafka's own teardown, whose waits
# have wall-clock deadlines, is given 5 s before the bridge exits anyway.
[ $took_ms -lt 7000 ] || fail "stopping took ${took_ms} ms after the step"
bounded=""; grep -q 'librdkafka did not stop within' "$WORK/step.log" && bounded=" (librdkafka's teardown cut at its 5 s bound)"
pass "wall clock stepped 10 minutes forward while running: dedupe TTL unaffected, SIGTERM stops it in ${took_ms} ms, exit 0$bounded"
