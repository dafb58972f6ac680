#!/usr/bin/env bash
# The state topic from a load-balanced fleet: three replicas take webhooks
# (round robin, one in three never sent: only a poll finds it) and poll with
# the checkpoint in Kafka; the elected leader writes the state. It is killed
# (-9) mid-run. After the run, the state topic read as a table equals the
# fake's port-outs field for field, and no key has two records with the same
# updated_at.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; kill_replicas; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 0
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; };
telnyx = { poll_enabled = true; checkpoint_store = "kafka"; poll_group = "it-$RUN_ID-poller";
           poll_session_timeout_ms = 6000; poll_interval_s = 1; poll_overlap_s = 5; poll_settle_s = 2;
           poll_lookback_s = 3600; reconcile_margin_s = 30;
           retry_base_ms = 50; retry_max_ms = 200; checkpoint_file = "$WORK/none.json"; };
state = { enabled = true; group = "it.$RUN_ID.state"; coalesce_ms = 300; resync_interval_s = 0; };
CONF
sed -i "s|^topics = {|topics = {\n  control = \"it.$RUN_ID.control\";\n  state = \"$(topic state)\";|" "$WORK/bridge.conf"

for i in 1 2 3; do start_replica $i; done
for i in 1 2 3; do ready_replica $i; done
wait_single portout_bridge_state_writer
first=$HOLDER
sender_start '{"rate": 40, "count": 400, "skip_every": 3}'
# Mid-run: a quarter of the events answered, and the writer has written.
sender_acked 70
state_written() { [ "$(topic_count "$(topic state)")" -gt 0 ]; }
wait_for 30 "the first state record" state_written
stop_replica "$first" KILL
pass "killed the state writer (replica $first, -9) mid-run, $(sender_summary | python3 -c 'import json,sys; print(json.load(sys.stdin)["acked_count"])') events acknowledged"
wait_single portout_bridge_state_writer
W=$HOLDER
[ "$W" != "$first" ] || fail "the killed replica is still the writer"
pass "replica $W took over the state"
sender_done 120
converged 120 || { tail -20 "$WORK/r$W.log"; fail "the state topic did not converge to the fake's port-outs"; }
echo "$c" | grep -q '"dup":0,"bad":0' || fail "a key with two records of one updated_at, or not a state record: $c"
pass "after the kill, the table equals the fake's port-outs ($c)"
calls=$(metric "${ADM[$W]}" portout_bridge_state_api_calls_total)
events=$(metric "${ADM[$W]}" portout_bridge_state_events_total)
[ "$events" -gt 0 ] && [ "$calls" -gt 0 ] || fail "the new writer read $events event(s) and made $calls call(s)"
pass "the new writer read $events event record(s) and made $calls API call(s)"
stop_replicas
