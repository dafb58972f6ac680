#!/usr/bin/env bash
# Scale-out on Kafka: three replicas behind a "load balancer" (the fake
# Telnyx sends webhooks round robin to them), polling with
# telnyx.checkpoint_store = "kafka": one poller elected by a consumer group,
# the checkpoint in the group's committed metadata, and before publishing a
# polled event the poller reads what the topics hold. One event in three is
# never sent by webhook: only a poll finds it.
#  1. three replicas: every API event once in Kafka; one poller lists;
#  2. the leader killed (-9): another polls within the session timeout;
#     nothing missing (take-over time and duplicates reported);
#  3. the leader paused (SIGSTOP) past its session, then resumed: it must not
#     move the checkpoint, backwards or forwards;
#  4. all three restarted with no local state: they resume from the Kafka
#     checkpoint, nothing missed, nothing published again.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; kill_replicas; stop_fake; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
SESSION_MS=6000 # the broker's group.min.session.timeout.ms
start_fake 0
write_config
sed -i "s/level = \"info\"/level = \"${PB_IT_LOG_LEVEL:-info}\"/" "$WORK/bridge.conf"
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; ack_timeout_ms = 1500; };
telnyx = { poll_enabled = true; checkpoint_store = "kafka"; poll_group = "it-$RUN_ID-poller";
           poll_session_timeout_ms = $SESSION_MS; poll_interval_s = 1; poll_overlap_s = 5; poll_settle_s = 2;
           poll_lookback_s = 3600; reconcile_margin_s = 30;
           retry_base_ms = 50; retry_max_ms = 200; checkpoint_file = "$WORK/none.json"; };
CONF
sed -i "s/^topics = {/topics = {\n  control = \"it.$RUN_ID.control\";/" "$WORK/bridge.conf"

send() { sender_start "{\"rate\": $1, \"count\": $2, \"skip_every\": 3}"; } # one in three never sent
drained() { sender_done 120; polled_past_last 60; } # every webhook answered, a poll past the last event
records() { # every record of this run's event topics: "kafka_ts ce_id ingestpath"
  local t
  for t in status-changed foc-date-changed new-comment; do
    { kcat -C -b "$BOOTSTRAP" -t "$(topic $t)" -o beginning -e -q -f '%T %h\n' 2>/dev/null || true; } |
      sed -n 's/^\([0-9]*\) .*ce_id=\([^,]*\),.*ce_ingestpath=\([a-z]*\).*/\1 \2 \3/p'
  done
}
verify() { # verify NAME: every API event at least once in Kafka, and never twice by a poll
  curl -sf "$FAKE/_admin/events" > "$WORK/events.json"
  records > "$WORK/records"
  python3 - "$WORK/events.json" "$WORK/records" "$1" <<'PY'
import collections, json, sys
api = [e["id"] for e in json.load(open(sys.argv[1]))["events"]]
recs = collections.defaultdict(list)
for line in open(sys.argv[2]):
    ts, i, path = line.split()
    recs[i].append((int(ts), path))
missing = [i for i in api if i not in recs]
dups = {i: sorted(r) for i, r in recs.items() if len(r) > 1}
# The poller's duplicates: a polled copy of what Kafka already held when the
# poll read it (its record newer than an earlier copy by more than a page's
# publishing takes here). A webhook delivered twice (its 200 lost, Telnyx
# retrying at another replica), or one landing while the poll publishes the
# same event, is the webhook path's at-least-once, counted apart.
def poll_dup(r):
    return any(p == "rest" and ts - r[0][0] > 1000 for ts, p in r[1:])
by_poll = [i for i, r in dups.items() if poll_dup(r)]
print(f"{sys.argv[3]}: {len(api)} API events, {len(recs)} distinct in Kafka, "
      f"{sum(len(r) for r in recs.values())} records, {len(by_poll)} duplicated by the poll, "
      f"{len(dups) - len(by_poll)} by a webhook (retried, or racing the poll)", flush=True)
assert not missing, f"missing: {missing[:10]}"
assert not by_poll, f"published again by the poll: {by_poll[:5]}"
PY
}

# --- 1. three replicas
for i in 1 2 3; do start_replica $i; done
wait_leader
# "Missed by webhook" counts events created after the leader's first poll:
# send only once it has polled, or the events of that gap are not counted.
polled() { [ "$(metric "${ADM[$LEADER]}" portout_bridge_poll_last_success_timestamp_seconds)" -gt 0 ]; }
wait_for 10 "the leader's first poll" polled
send 100 600
drained
verify "three replicas" > "$WORK/v1" || fail "three replicas: $(cat "$WORK/v1")"
grep -q ', 0 by a webhook' "$WORK/v1" || fail "three replicas: duplicates in Kafka: $(cat "$WORK/v1")"
missed=0
for i in 1 2 3; do missed=$((missed + $(metric "${ADM[$i]}" portout_bridge_poll_missed_by_webhook_total))); done
polled=$(grep -c ' rest$' "$WORK/records")
[ "$missed" = "$polled" ] || fail "poll_missed_by_webhook_total is $missed, the poll published $polled"
curl -sf "$FAKE/_admin/lists" | python3 -c '
import json, sys
uas = [l["ua"] for l in json.load(sys.stdin)["lists"]]
print(f"{len(uas)} list requests, from {len(set(uas))} replica(s)")
assert len(set(uas)) == 1, set(uas)' > "$WORK/lists1" || fail "more than one replica listed: $(cat "$WORK/lists1")"
pass "three replicas: $(sed 's/^three replicas: //' "$WORK/v1"); $(cat "$WORK/lists1") (the elected one); $missed found by the poll alone"

# --- 2. the leader killed
send 100 800
sender_acked 150 # mid-run
victim=$LEADER
t_kill=$(date +%s.%N)
stop_replica "$victim" KILL
wait_leader
t_new=$(date +%s.%N)
[ "$LEADER" != "$victim" ] || fail "the dead replica is still the leader"
# the new leader's first list request after the kill
first_list=$(curl -sf "$FAKE/_admin/lists" | python3 -c '
import json, sys
t = float(sys.argv[1]); l = [x["t"] for x in json.load(sys.stdin)["lists"] if x["t"] > t]
print(min(l) if l else 0)' "$t_kill")
takeover=$(python3 -c "print(round(max(float('$t_new'), float('$first_list')) - float('$t_kill'), 1))")
python3 -c "import sys; sys.exit(0 if $takeover <= $SESSION_MS / 1000 + 3 else 1)" || fail "take-over took ${takeover} s"
start_replica "$victim" # back to three (it rejoins as a follower)
drained
verify "leader killed" > "$WORK/v2" || fail "leader killed: $(cat "$WORK/v2")"
pass "leader (replica $victim) killed -9: replica $LEADER polled after ${takeover} s (session ${SESSION_MS} ms); $(sed 's/^leader killed: //' "$WORK/v2")"

# --- 3. fencing: the leader paused past its session, then resumed
wait_leader
frozen=$LEADER
send 50 600
sender_acked 60 # mid-run
kill -STOP "${P[$frozen]}"
t_stop=$(date +%s.%N) # after the stop: a checkpoint written later is the deposed one's
: > "$WORK/samples"
while [ $(( $(date +%s) - ${t_stop%.*} )) -lt $(( SESSION_MS / 1000 + 6 )) ]; do
  "$PB_BIN" -c "$WORK/bridge.conf" checkpoint >> "$WORK/samples" 2>/dev/null || true
  sleep 0.5
done
new=""
for _ in $(seq 1 50); do # the take-over may still be settling on a loaded machine
  new=$(leader_of | { grep -v "^$frozen$" || true; } | head -1)
  [ -n "$new" ] && break
  sleep 0.2
done
[ -n "$new" ] || fail "nobody took over from the paused leader in $(( SESSION_MS / 1000 + 16 )) s"
kill -CONT "${P[$frozen]}"
t_cont=$(date +%s)
while [ $(( $(date +%s) - t_cont )) -lt 6 ]; do
  "$PB_BIN" -c "$WORK/bridge.conf" checkpoint >> "$WORK/samples" 2>/dev/null || true
  sleep 0.5
done
drained
frozen_pid=${P[$frozen]}
python3 - "$WORK/samples" "$frozen_pid" "$t_stop" "$WORK/r$frozen.log" <<'PY' || fail "fencing"
import json, re, sys, datetime as dt
rows = []
for line in open(sys.argv[1]):
    cp, rest = line.split(" ", 1)
    meta = json.loads(rest[rest.index("{"):])
    rows.append((cp, meta))
cps = [r[0] for r in rows]
# Samples before the take-over, during it and after the resume: a check over
# too few of them would pass on nothing.
assert len(rows) >= 10, f"only {len(rows)} checkpoint samples"
assert cps == sorted(cps), "the checkpoint moved backwards"
stopped = dt.datetime.fromtimestamp(float(sys.argv[3]), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
# Once resumed it may be elected again, legitimately (a rebalance it causes
# by rejoining can move the partition back to it): from then on it commits.
again = [m.group(1) for m in re.finditer(r'^ts=(\S+)Z .*this replica is the poll leader', open(sys.argv[4]).read(), re.M)
         if m.group(1) > stopped]
again = again[0] if again else "9999"
late = [m for cp, m in rows if m["by"].endswith(":" + sys.argv[2]) and stopped < m["written_at"][:23] < again]
assert not late, f"the deposed leader committed after its pause (stopped at {stopped}, elected again at {again}): {late[:2]}"
print(f"{len(rows)} samples, monotonic, none written by the deposed leader between its pause and "
      + ("its re-election at " + again if again != "9999" else "the end"))
PY
grep -q 'poll election: leadership lost\|poll election: leadership revoked' "$WORK/r$frozen.log" || fail "the resumed replica did not notice it was deposed"
verify "fencing" > "$WORK/v3" || fail "fencing: $(cat "$WORK/v3")"
pass "leader (replica $frozen) paused $(( SESSION_MS / 1000 + 6 )) s: replica $new took over; after SIGCONT the checkpoint stayed monotonic and the deposed one committed nothing until elected again; $(sed 's/^fencing: //' "$WORK/v3")"

# --- 4. all restarted, no local state
stop_replicas
before=$(event_ids | wc -l)
for i in 1 2 3; do start_replica $i; done
wait_leader
# A few polls over the old window (1 s apart): nothing may be published again.
p0=$(metric "${ADM[$LEADER]}" portout_bridge_poll_last_success_timestamp_seconds)
polls_after() { [ "$(metric "${ADM[$LEADER]}" portout_bridge_poll_last_success_timestamp_seconds)" -ge $((p0 + 3)) ]; }
wait_for 20 "three polls by the new leader" polls_after
wait_quiet "${ADM[@]}"
after=$(event_ids | wc -l)
[ "$after" = "$before" ] || fail "restart with no local state published $((after - before)) record(s) again"
send 50 200
drained
verify "restart" > "$WORK/v4" || fail "restart: $(cat "$WORK/v4")"
curl -s "${ADM[$LEADER]}/metrics" | python3 -c '
import sys
m = {}
for l in sys.stdin:
    if l.startswith("portout_bridge_reconcile_") or l.startswith("portout_bridge_poll_events_total"):
        k, v = l.rsplit(" ", 1); m[k] = float(v)
n = m.get("portout_bridge_reconcile_reads_total", 0)
assert n > 0, "the leader never read the topics"
rec = m.get("portout_bridge_reconcile_records_total", 0) / n
ms = m.get("portout_bridge_reconcile_read_milliseconds_total", 0) / n
ids = m.get("portout_bridge_reconcile_ids", 0)
print(f"reconcile cost on the leader: {n:.0f} reads, {rec:.1f} records and {ms:.1f} ms per poll, {ids:.0f} ids held")' > "$WORK/cost" || fail "reconcile metrics: $(cat "$WORK/cost")"
echo "$(cat "$WORK/cost")"
stop_replicas
pass "all three restarted with no local state: resumed from the Kafka checkpoint, nothing published again, nothing missed ($(sed 's/^restart: //' "$WORK/v4"))"
