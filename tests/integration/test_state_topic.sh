#!/usr/bin/env bash
# The state topic is a table, compacted (issue 30, finding 5). On Apache
# Kafka's default auto.create.topics.enable=true, the state writer's
# existence check (a metadata request) created topics.state with the
# broker's defaults, cleanup.policy=delete, before its own creation asked
# for compaction: the table then grew without end and lost old port-outs
# to retention. Now, as Kafka's own kafka-topics tool describes it:
#   - a state topic the bridge creates is compacted, on a broker that
#     auto-creates topics;
#   - an existing one with cleanup.policy=delete is refused: the writer
#     writes nothing to it and logs how to fix it, and check-config --kafka
#     marks it.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
trap 'trap - ERR; stop_bridge || true; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 5
config() { # config STATE_TOPIC
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; };
telnyx = { poll_enabled = true; poll_interval_s = 1; poll_lookback_s = 31536000;
           poll_settle_s = 1; checkpoint_file = "$WORK/checkpoint.$1"; };
state = { enabled = true; group = "it.$RUN_ID.$1"; coalesce_ms = 200; };
CONF
  sed -i "s|^topics = {|topics = {\n  state = \"$(topic "$1")\";|" "$WORK/bridge.conf"
}

# 1. Created by the bridge on a broker that auto-creates topics: compacted.
config state
start_bridge "$WORK/bridge.conf"
for _ in $(seq 1 300); do [ "$(topic_count "$(topic state)")" -gt 0 ] && break; sleep 0.1; done
[ "$(topic_count "$(topic state)")" -gt 0 ] || { tail -20 "$WORK/bridge.log"; fail "no state record written"; }
stop_bridge
kafka_topics --describe --topic "$(topic state)" > "$WORK/describe.txt" || fail "kafka-topics --describe"
grep -q 'cleanup.policy=compact' "$WORK/describe.txt" || { cat "$WORK/describe.txt"; fail "the state topic is not compacted"; }
pass "the state topic the bridge created is compacted ($(grep -o 'PartitionCount: *[0-9]*' "$WORK/describe.txt"))"
# show of a port-out with a state record and no timeline (nothing since
# 2099): its state alone. It called qsort(NULL, 0), which UBSan aborts on.
po=$(kcat -C -b "$BOOTSTRAP" -t "$(topic state)" -o beginning -c 1 -e -q -f '%k\n')
"$PB_BIN" -c "$WORK/bridge.conf" show "$po" --since 2099-01-01T00:00:00Z > "$WORK/show.txt" 2> "$WORK/show.err" ||
  { cat "$WORK/show.txt" "$WORK/show.err"; fail "show of a state with no timeline"; }
grep -q "^port-out $po: " "$WORK/show.txt" || { cat "$WORK/show.txt"; fail "show: no state line"; }
check_sanitizers "$WORK/show.err"
pass "show of a port-out with a state and no timeline: its state"

# 2. One that exists with cleanup.policy=delete: refused.
kafka_topics --create --topic "$(topic state-del)" --partitions 3 --replication-factor 1 \
  --config cleanup.policy=delete > /dev/null || fail "kafka-topics --create"
config state-del
start_bridge "$WORK/bridge.conf"
for _ in $(seq 1 200); do grep -q 'must be compacted' "$WORK/bridge.log" && break; sleep 0.1; done
grep 'must be compacted' "$WORK/bridge.log" | head -1 | grep 'cleanup.policy=compact' >/dev/null ||
  { tail -20 "$WORK/bridge.log"; fail "the writer did not refuse the topic, saying how to fix it"; }
# Refused, it is not in office (it writes only in office), and the events it
# would write the state of are there: the poll's five.
events_in() { [ "$(metric "$ADMIN" portout_bridge_poll_events_total 'outcome="delivered"')" -ge 5 ]; }
wait_for 30 "the poll's five events" events_in
wait_quiet "$ADMIN"
[ "$(metric "$ADMIN" portout_bridge_state_writer)" = 0 ] || fail "the writer took office on a topic that is not compacted"
[ "$(topic_count "$(topic state-del)")" = 0 ] || fail "records were written to a state topic that is not compacted"
stop_bridge
rc=0; "$PB_BIN" -c "$WORK/bridge.conf" check-config --kafka > "$WORK/check.txt" 2>&1 || rc=$?
[ $rc = 77 ] || { cat "$WORK/check.txt"; fail "check-config --kafka exited $rc, want 77 (a problem found)"; }
grep -q "✗ topic $(topic state-del) *cleanup.policy=delete" "$WORK/check.txt" ||
  { cat "$WORK/check.txt"; fail "check-config --kafka does not mark the policy"; }
pass "a state topic with cleanup.policy=delete is refused by the writer (nothing written) and marked by check-config --kafka"
check_sanitizers "$WORK/bridge.log"
