#!/usr/bin/env bash
# kill -9 at random points while Telnyx (the fake, which signs, sends and
# retries webhooks as Telnyx does) delivers ~500 webhooks/s, with hybrid
# polling. One event in ten is never sent by webhook: only the poll finds it.
#  - every webhook answered "200 delivered" is in Kafka by its own copy
#    (200 means acked by Kafka: not a copy the poll made later);
#  - after a final poll, every event the API holds is in Kafka;
#  - the duplicates (at least once: a kill between Kafka's ack and the 200,
#    or a restarted poller re-reading its overlap) are counted and listed.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
KILLS=${PB_KILLS:-20}
RATE=${PB_KILL_RATE:-500}
start_fake 0
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; };
telnyx = { poll_enabled = true; poll_interval_s = 1; poll_overlap_s = 2; poll_lookback_s = 3600; poll_settle_s = 2;
           checkpoint_file = "$WORK/checkpoint.json"; retry_base_ms = 50; retry_max_ms = 200; };
CONF
# The first start creates the topics; then Telnyx starts sending.
start_bridge "$WORK/bridge.conf" "$WORK/run0.log"
# The port the kernel gave it is Telnyx's URL from now on: every restart
# binds it again (a port picked free and bound later could be taken between).
HOOK=${BASE##*:}
sed -i "s/port = 0; paths/port = $HOOK; paths/" "$WORK/bridge.conf"
curl -sf -X POST "$FAKE/_admin/webhooks/start" \
  -d "{\"url\": \"http://127.0.0.1:$HOOK/hook\", \"key\": \"$WORK/keys/dev-private.pem\", \"rate\": $RATE, \"count\": 1000000, \"skip_every\": 10, \"threads\": 16, \"log\": true}" > /dev/null
: > "$WORK/kills"
for k in $(seq 1 "$KILLS"); do
  [ -n "${BRIDGE_PID:-}" ] || start_bridge "$WORK/bridge.conf" "$WORK/run$k.log"
  up_ms=$(( 300 + RANDOM % 1700 ))
  sleep "$(printf '0.%03d' $((up_ms % 1000)))"; [ $up_ms -ge 1000 ] && sleep 1
  kill -9 "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null || true; BRIDGE_PID=""
  echo "kill $k after ${up_ms} ms" >> "$WORK/kills"
done
# Telnyx stops creating events; the last bridge takes the retries and polls.
curl -sf -X POST "$FAKE/_admin/webhooks/finish" > /dev/null
start_bridge "$WORK/bridge.conf" "$WORK/final.log"
sender_done 60
# A final poll that began after the last event was created.
polled_past_last 30
wait_quiet "$ADMIN"
stop_bridge || fail "final stop: exit $?"
for f in "$WORK"/run*.log "$WORK/final.log"; do check_sanitizers "$f"; done
curl -sf "$FAKE/_admin/events" > "$WORK/events.json"
curl -sf "$FAKE/_admin/webhooks" > "$WORK/acked.json"
records_by_path > "$WORK/records"
python3 - "$WORK/events.json" "$WORK/records" "$WORK/acked.json" <<'PY' || fail "events lost"
import collections, json, sys
events = json.load(open(sys.argv[1]))["events"]
recs = [l.split() for l in open(sys.argv[2]) if l.strip()]
ids = [r[0] for r in recs]
by_webhook = {r[0] for r in recs if r[1] == "webhook"}
count = collections.Counter(ids)
acked = json.load(open(sys.argv[3]))
delivered = {a[0] for a in acked["answers"] if a[3] == 200 and a[4] == "delivered"}
not_own = [i for i in delivered if i not in by_webhook]
api = [e["id"] for e in events]
missing_acked = [i for i in acked["acked"] if i not in count]
missing_api = [i for i in api if i not in count]
dups = {i: n for i, n in count.items() if n > 1}
print(f"{len(api)} events at the API ({len(acked['skipped'])} never sent by webhook), "
      f"{len(acked['acked'])} webhooks answered 200 ({acked['attempts']} attempts, statuses {acked['status']}); "
      f"{len(count)} distinct in Kafka, {sum(count.values())} records, "
      f"{len(dups)} event(s) duplicated ({sum(dups.values()) - len(dups)} extra records)")
if dups:
    print("duplicated, e.g.: " + ", ".join(f"{i} x{n}" for i, n in list(dups.items())[:8]))
assert not missing_acked, f"answered 200 but not in Kafka: {missing_acked[:10]}"
assert not not_own, f"answered 200 delivered, yet no webhook copy in Kafka: {not_own[:10]}"
print(f"{len(delivered)} answered 200 delivered, each by its own webhook copy")
assert not missing_api, f"{len(missing_api)} API events not in Kafka after the final poll: {missing_api[:10]}"
assert len(acked["acked"]) > 1000, "the load did not happen"
PY
pass "kill -9 at $KILLS random points under ~$RATE webhooks/s with hybrid polling: nothing lost ($(paste -sd, "$WORK/kills" | cut -c1-80)...)"
