#!/usr/bin/env bash
# Deadline events from a fleet (issue 28): port-outs opened at Telnyx at
# several ages (the fake's created_at), two of them leaving pending midway;
# three replicas with the state writer elected; the writer killed -9 with
# thresholds crossed before and after (some during the failover; one
# port-out crosses its first and leaves pending while no writer is in
# office) and restarted. Read with kcat afterwards: each pending
# port-out has exactly one deadline event per threshold it crossed while
# pending, none other, each within desk.deadline_lag_s of its threshold (or
# of the fleet's start, for one crossed before), each with its id derived
# from the pair; `show` lists them in the port-out's timeline. The desk
# runs beside the writer, one of its calls hanging (the fake holds its
# answer 25 s) across the second threshold: those events still come within
# the lag.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; kill_replicas; stop_fake; work_done' EXIT
T1=12 T2=30 LAG=15
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 0 --portouts 1
fleet_config state=state deadlines=deadlines commands=commands command_results=results
cat >> "$WORK/bridge.conf" <<CONF
state = { enabled = true; group = "it.$RUN_ID.state"; coalesce_ms = 300; resync_interval_s = 2; };
desk = { deadline_warn_s = "$T1,$T2"; deadline_lag_s = $LAG; enabled = true; group = "it.$RUN_ID.desk"; };
CONF
kafka_topics --create --topic "$(topic commands)" --partitions 1 --replication-factor 1 > /dev/null

# Ages 0 to 60 s: with thresholds 12 and 30 s, some crossed before the
# fleet is up, most while it runs, some during the failover. L1 leaves
# pending before its first threshold, L2 between its two (10 s after its
# first), L3 1 s after its first, while no writer is in office (killed 4 s
# before, the session timeout 6 s): the next writer learns of it only as a
# port-out that left pending, and still owes its first announcement.
t0=$(now_ms)
curl -sf "$FAKE/_admin/portouts/create" -d '{"ages_s": [0, 3, 6, 9, 14, 30, 60, 0, 0, 0]}' > "$WORK/made.json"
mapfile -t IDS < <(python3 -c 'import json,sys; [print(p["id"]) for p in json.load(open(sys.argv[1]))["data"]]' "$WORK/made.json")
L1=${IDS[7]} L2=${IDS[8]} L3=${IDS[9]}

for i in 1 2 3; do start_replica $i; done
for i in 1 2 3; do ready_replica $i; done
wait_single portout_bridge_state_writer
first=$HOLDER
t_ready=$(date +%s%3N) # wall clock, as the fake's created_at and Kafka's timestamps
pass "fleet up $((($(now_ms) - t0) / 1000)) s after the port-outs were opened; replica $first writes the state"

at() { local w=$(($1 * 1000 - ($(now_ms) - t0))); [ $w -le 0 ] || sleep "$(awk -v w=$w 'BEGIN{print w/1000}')"; }
leave() { # leave ID STATUS: the port-out leaves pending at Telnyx (the resync finds it)
  curl -sf "$FAKE/_admin/portouts/update" -d "{\"id\": \"$1\", \"status\": \"$2\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["updated_at"])'
}
at 4
L1_LEFT=$(leave "$L1" authorized)
at $((T1 - 4))
stop_replica "$first" KILL
t_kill=$(now_ms)
pass "killed the state writer (replica $first, -9) $(((t_kill - t0) / 1000)) s in, with thresholds crossed before and after"
(at $((T1 + 1)); leave "$L3" authorized > "$WORK/l3.left") &
l3=$!
wait_single portout_bridge_state_writer
[ "$HOLDER" != "$first" ] || fail "the killed replica still writes the state"
pass "replica $HOLDER took over the state $((($(now_ms) - t_kill) / 1000)) s after the kill"
wait "$l3" || fail "L3 did not leave pending"
L3_LEFT=$(cat "$WORK/l3.left")
at $((T1 + 10))
L2_LEFT=$(leave "$L2" rejected-pending)
# A desk call that hangs across the second threshold: a comment (no status
# changes), its answer held 25 s by the fake.
curl -sf "$FAKE/_admin/faults" -d '{"hang_call": {"count": 1, "ms": 25000}}' > /dev/null
python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import desk_commands as d; print("\t".join(d.command("hang-1", "comment", sys.argv[2], {"body": "held"})))' \
  "$PB_SOURCE_DIR/tests/integration" "${IDS[0]}" | kcat -P -b "$BOOTSTRAP" -t "$(topic commands)" -K $'\t'
call_sent() { curl -sf "$FAKE/_admin/calls" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["calls"] else 1)'; }
wait_for 20 "the desk's call" call_sent
start_replica "$first"
ready_replica "$first"
pass "replica $first restarted"

# Every crossing is at most t0 + T2; wait for the lag past it, then read.
expected=$((7 * 2 + 1 + 1))
deadline_count() { [ "$(topic_count "$(topic deadlines)")" -ge "$expected" ]; }
wait_for $((T2 + LAG * SLACK + 30)) "$expected deadline events" deadline_count
at $((T2 + LAG))
sleep 3 # and none more: a replay of a look would show here
consume "$(topic deadlines)" "$WORK/deadlines.json"
curl -sf "$FAKE/_admin/calls" > "$WORK/calls.json"

python3 - "$WORK/made.json" "$WORK/deadlines.json" "$T1,$T2" "$L1,$L1_LEFT" "$L2,$L2_LEFT" "$L3,$L3_LEFT" \
  "$t_ready" "$((LAG * SLACK))" <<'EOF' || fail "the deadline events are not exactly the expected ones"
import datetime as dt, json, sys
made = {p["id"]: p for p in json.load(open(sys.argv[1]))["data"]}
thresholds = [int(x) for x in sys.argv[3].split(",")]
left = {}
for a in sys.argv[4:7]:
    i, t = a.split(",")
    left[i] = dt.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()
t_ready, lag = int(sys.argv[7]) / 1000, float(sys.argv[8])
def ts(s): return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
want = set()
for i, p in made.items():
    for t in thresholds:
        if ts(p["created_at"]) + t < left.get(i, float("inf")):
            want.add((i, t))
got, bad = {}, []
for line in open(sys.argv[2]):
    r = json.loads(line)
    e = json.loads(r["payload"])
    d = e["data"]
    pair = (r["key"], d["threshold_s"])
    if pair in got:
        bad.append(f"announced twice: {pair}")
    got[pair] = r
    if e["id"] != f"{pair[0]}@deadline-{pair[1]}s" or e["type"] != "com.telnyx.portout.deadline":
        bad.append(f"id/type {e['id']} {e['type']}")
    if e["subject"] != pair[0] or d["portout_id"] != pair[0] or d["portout"]["id"] != pair[0]:
        bad.append(f"subject/data of {pair}")
    crossed = ts(made[pair[0]]["created_at"]) + pair[1]
    if abs(ts(e["time"]) - crossed) > 0.001:
        bad.append(f"time {e['time']} is not created_at + {pair[1]} s")
    # pending, or (owed late) the status it left pending for
    if (d["portout"]["status"] != "pending" and pair[0] not in left) or d["age_s"] < pair[1]:
        bad.append(f"{pair}: status {d['portout']['status']}, age {d['age_s']}")
    # the producer's timestamp (kcat: ms) against the threshold, or the
    # fleet's start for a threshold crossed before it
    late = r["ts"] / 1000 - max(crossed, t_ready)
    if late > lag:
        bad.append(f"{pair}: written {late:.1f} s after its threshold (lag {lag} s)")
missing, extra = want - set(got), set(got) - want
if missing: bad.append(f"missing: {sorted(missing)}")
if extra: bad.append(f"not due (left pending first, or never crossed): {sorted(extra)}")
print("\n".join(bad) or f"{len(got)} deadline events, one per pair, each within the lag", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
pass "exactly one deadline event per (port-out, threshold) crossed while pending, within the lag, across a kill -9 and a restart"
python3 - "$WORK/calls.json" "$WORK/deadlines.json" "$T2" <<'EOF' || fail "no deadline event was written while the desk's call hung"
import json, sys
at = json.load(open(sys.argv[1]))["calls"][0]["at"]
held = [json.loads(l)["ts"] / 1000 for l in open(sys.argv[2])
        if json.loads(json.loads(l)["payload"])["data"]["threshold_s"] == int(sys.argv[3])]
during = [t for t in held if at < t < at + 25]
print(f"{len(during)} of {len(held)} second-threshold events written while the desk's call hung", file=sys.stderr)
sys.exit(0 if during else 1)
EOF
pass "deadline events within the lag while a call of the desk hung"

# show: the deadline events in the port-out's timeline
"$PB_BIN" -c "$WORK/bridge.conf" show "${IDS[6]}" > "$WORK/show.out" 2> "$WORK/show.err" \
  || { cat "$WORK/show.err"; fail "show ${IDS[6]} failed"; }
[ "$(grep -c 'com.telnyx.portout.deadline' "$WORK/show.out")" = 2 ] \
  || { cat "$WORK/show.out"; fail "show does not list the port-out's two deadline events"; }
"$PB_BIN" -c "$WORK/bridge.conf" show "${IDS[6]}" --json > "$WORK/show.json" 2>> "$WORK/show.err" || fail "show --json"
python3 - "$WORK/show.json" "$T1,$T2" <<'EOF' || { cat "$WORK/show.json"; fail "show --json: the deadline entries lack their data"; }
import json, sys
tl = json.load(open(sys.argv[1]))["timeline"]
got = sorted(e["data"]["threshold_s"] for e in tl if e["type"] == "com.telnyx.portout.deadline")
sys.exit(0 if got == [int(x) for x in sys.argv[2].split(",")] else 1)
EOF
pass "show lists the port-out's two deadline events (--json: with their data)"
W=$(holding portout_bridge_state_writer | head -1)
written=$(metric "${ADM[$W]}" portout_bridge_deadline_events_total 'outcome="written"')
pass "the writer now in office counts $written deadline event(s) written"
stop_replicas
