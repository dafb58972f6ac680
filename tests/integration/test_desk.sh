#!/usr/bin/env bash
# The desk (issue 28): commands from Kafka carried out against the fake
# Telnyx API by the elected replica of three. Two batches of authorize,
# reject and comment commands (each for its own port-out, the command id in
# the text the call carries) with a copy of a command, a port-out not
# pending, a comment on a final one, a stale command, a reject without a
# reason, an unknown type, a bad id, a key that is not the subject and two
# records that are no CloudEvent. Faults: the leader killed -9 while the
# fake holds the answer of a call it carried out (a fate the desk cannot
# know), killed -9 again at a random point of the second batch, paused
# (SIGSTOP) past the session timeout and resumed while another replica took
# office, a rolling restart of all three, and the
# whole command topic produced again at the end. Then, read from outside:
# at most one call per command id and exactly the calls the rules allow,
# exactly one result per command (one per record without a readable id),
# the call of unknown fate settled by reading the port-out, and the
# port-outs on the fake in the states the commands asked for. Last, a dry
# run calls nothing.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; kill_replicas; stop_fake; work_done' EXIT
N=${PB_DESK_COMMANDS:-40} # commands of each type per batch (bench/desk.sh --faults: more)
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
start_fake 0 --portouts 1
fleet_config commands=commands command_results=results
cat >> "$WORK/bridge.conf" <<CONF
desk = { enabled = true; group = "it.$RUN_ID.desk"; };
CONF
CMDS=$(topic commands)
kafka_topics --create --topic "$CMDS" --partitions 3 --replication-factor 1 > /dev/null

# Port-outs: 4N + 4 pending, and two final ones.
python3 -c "import json; print(json.dumps({'ages_s': [600] * (4 * $N + 8)}))" \
  | curl -sf "$FAKE/_admin/portouts/create" -d @- \
  | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]))' > "$WORK/made.json"
mapfile -t FINAL < <(python3 -c 'import json,sys; [print(p["id"]) for p in json.load(open(sys.argv[1]))[-2:]]' "$WORK/made.json")
curl -sf "$FAKE/_admin/portouts/update" -d "{\"id\": \"${FINAL[0]}\", \"status\": \"authorized\"}" > /dev/null
curl -sf "$FAKE/_admin/portouts/update" -d "{\"id\": \"${FINAL[1]}\", \"status\": \"ported\"}" > /dev/null
curl -sf "$FAKE/_admin/portouts" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["portouts"]))' \
  | python3 -c 'import json,sys; ps=json.load(sys.stdin); print(json.dumps([p for p in ps if p["id"] in set(q["id"] for q in json.load(open(sys.argv[1])))]))' "$WORK/made.json" > "$WORK/portouts.json"
python3 "$PB_SOURCE_DIR/tests/integration/desk_commands.py" make "$WORK/portouts.json" 0 "$N" > "$WORK/batch1.tsv"
python3 "$PB_SOURCE_DIR/tests/integration/desk_commands.py" make "$WORK/portouts.json" "$N" "$N" > "$WORK/batch2.tsv"
produce() { kcat -P -b "$BOOTSTRAP" -t "$CMDS" -K $'\t' < "$1"; }
results() { topic_count "$(topic results)"; }
calls() { curl -sf "$FAKE/_admin/calls" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["calls"]))'; }

for i in 1 2 3; do start_replica $i; done
for i in 1 2 3; do ready_replica $i; done
wait_single portout_bridge_desk_active
first=$HOLDER
pass "replica $first carries out the commands"

# The fake carries out the next call and holds its answer: the leader is
# killed -9 while it waits, between the call and its result.
curl -sf "$FAKE/_admin/faults" -d '{"hang_call": {"count": 1, "ms": 30000}}' > /dev/null
produce "$WORK/batch1.tsv"
called_once() { [ "$(calls)" -ge 1 ]; }
wait_for 60 "the first call" called_once
sleep 0.5
stop_replica "$first" KILL
pass "killed the desk's replica $first (-9) while the fake held the answer of a call it carried out"
wait_single portout_bridge_desk_active
[ "$HOLDER" != "$first" ] || fail "the killed replica still carries out commands"
second=$HOLDER
pass "replica $second took over"
start_replica "$first"
ready_replica "$first"

# Second batch: the desk's replica killed -9 at a random point of its first
# half, paused (SIGSTOP) past the session timeout during its second half,
# then a rolling restart of all three (each TERM, restarted).
half=$(($(wc -l < "$WORK/batch2.tsv") / 2))
head -n "$half" "$WORK/batch2.tsv" > "$WORK/batch2a.tsv"
tail -n +$((half + 1)) "$WORK/batch2.tsv" > "$WORK/batch2b.tsv"
produce "$WORK/batch2a.tsv"
sleep "$(awk -v r=$RANDOM 'BEGIN{print r % 2000 / 1000}')"
wait_single portout_bridge_desk_active
k=$HOLDER
stop_replica "$k" KILL
pass "killed the desk's replica $k (-9) at a random point of the second batch"
wait_single portout_bridge_desk_active
start_replica "$k"
ready_replica "$k"
# A deposed leader that does not know it yet: paused while commands flow,
# past the session timeout; another replica takes office and goes on;
# resumed, the paused one must neither call nor write a result for what
# the other now does (the fence before each: the checks below).
wait_single portout_bridge_desk_active
k=$HOLDER
produce "$WORK/batch2b.tsv"
sleep 0.3
kill -STOP "${P[$k]}"
took_over() { local h; h=$(holding portout_bridge_desk_active); [ -n "$h" ] && [ "$h" != "$k" ]; }
wait_for $((60 * SLACK)) "another replica carrying out commands" took_over
sleep 2
kill -CONT "${P[$k]}"
sleep 3
pass "paused the desk's replica $k (SIGSTOP) past the session timeout while commands flowed, another took office, resumed it (fenced: $(metric "${ADM[$k]}" portout_bridge_desk_fenced_total))"
for i in 1 2 3; do
  stop_replica "$i" TERM
  start_replica "$i"
  ready_replica "$i"
done
pass "rolling restart of the three replicas during the second batch"
# The whole command topic again: each record a copy of one with a result
# (skipped), but a record with no readable command id, which is a record of
# its own (one refused result each).
cat "$WORK/batch1.tsv" "$WORK/batch2.tsv" > "$WORK/again.tsv"
count_cmds() { # FILES...: "<command ids> <records without a readable id>"
  python3 - "$@" <<'EOF'
import json, sys
ids, idless = set(), 0
for f in sys.argv[1:]:
    for line in open(f):
        v = line.rstrip("\n").split("\t", 1)[1]
        try:
            cid = json.loads(v).get("id")
        except ValueError:
            cid = None
        if isinstance(cid, str) and all(c.isalnum() or c in "._:-" for c in cid):
            ids.add(cid)
        else:
            idless += 1
print(len(ids), idless)
EOF
}
read -r ids idless < <(count_cmds "$WORK/batch1.tsv" "$WORK/batch2.tsv")
wait_single portout_bridge_desk_active
produce "$WORK/again.tsv"
want=$((ids + 2 * idless))
copies=$(($(wc -l < "$WORK/again.tsv") - idless))
all_results() { [ "$(results)" -ge "$want" ]; }
wait_for $((120 * SLACK)) "$want results" all_results
copies_skipped() {
  local i n=0
  for i in $(live_replicas); do n=$((n + $(metric "${ADM[$i]}" portout_bridge_desk_duplicates_total))); done
  [ "$n" -ge "$copies" ]
}
wait_for $((60 * SLACK)) "the $copies copies skipped" copies_skipped
consume "$(topic results)" "$WORK/results.json"
if [ "$(results)" != "$want" ]; then
  # Which commands have two results, and what each replica's log says of them.
  python3 - "$WORK/results.json" > "$WORK/dups.txt" <<'EOF'
import collections, json, sys
c = collections.defaultdict(list)
for l in open(sys.argv[1]):
    r = json.loads(l)
    d = json.loads(r["payload"])["data"]
    c[d.get("command_id")].append(f'offset {r.get("offset")}: {d.get("outcome")}, {d.get("settled_by")}')
for k, v in c.items():
    if len(v) > 1:
        print(k, "; ".join(v))
EOF
  cat "$WORK/dups.txt" >&2
  while read -r id _; do grep -H "desk: .*\b$id\b" "$WORK"/r*.log >&2 || true; done < "$WORK/dups.txt"
  fail "$(results) results for $want command ids and id-less records"
fi
curl -sf "$FAKE/_admin/calls" > "$WORK/calls.json"
curl -sf "$FAKE/_admin/portouts" > "$WORK/final.json"
python3 "$PB_SOURCE_DIR/tests/integration/desk_commands.py" check "$WORK/portouts.json" \
  "$WORK/batch1.tsv" "$WORK/batch2.tsv" "$WORK/again.tsv" "$WORK/results.json" "$WORK/calls.json" "$WORK/final.json" \
  || { grep -h "desk:" "$WORK"/r*.log | tail -30; fail "the desk's calls or results are not what the commands asked"; }
python3 - "$WORK/results.json" <<'EOF' || fail "no result settled by reading after the kill"
import json, sys
s = [json.loads(json.loads(l)["payload"])["data"] for l in open(sys.argv[1])]
s = [d for d in s if (d.get("settled_by") or "").startswith("read after a restart")]
print(f"settled after the kill: {[(d['command_id'], d['outcome'], d['status_after']) for d in s]}", file=sys.stderr)
sys.exit(0 if s and any(d["outcome"] == "done" for d in s) else 1)
EOF
pass "exactly one result per command, at most one call per command id (exactly the allowed ones), the held call settled by reading, the port-outs as asked"
stop_replicas

# show: the port-out's command and its result in its timeline
PO=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(json.loads(l)["payload"])["data"]
    if d["command_id"] == "r-3": print(d["portout_id"])' "$WORK/results.json")
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" > "$WORK/show.out" 2> "$WORK/show.err" \
  || { cat "$WORK/show.err"; fail "show $PO failed"; }
grep -q 'com.telnyx.portout.reject .* r-3' "$WORK/show.out" \
  && grep -q 'command r-3: \(done\|failed\)' "$WORK/show.out" \
  || { cat "$WORK/show.out"; fail "show does not list the port-out's command and its result"; }
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" --json > "$WORK/show.json" 2>> "$WORK/show.err" || fail "show --json"
python3 - "$WORK/show.json" <<'EOF' || { cat "$WORK/show.json"; fail "show --json: no result entry with its data"; }
import json, sys
tl = json.load(open(sys.argv[1]))["timeline"]
r = [e for e in tl if e["type"] == "com.telnyx.portout.command_result"]
sys.exit(0 if any(e.get("data", {}).get("command_id") == "r-3" and e["data"].get("outcome") for e in r)
         and any(e["type"] == "com.telnyx.portout.reject" for e in tl) else 1)
EOF
pass "show lists the port-out's command and its result (--json: with the result's data)"

# Dry run: results, and no call.
before=$(calls)
sed -e "s|enabled = true; group = \"it.$RUN_ID.desk\"|enabled = true; dry_run = true; group = \"it.$RUN_ID.dry\"|" \
    -e "s|$(topic results)|$(topic dry-results)|" "$WORK/bridge.conf" > "$WORK/dry.conf"
start_replica 9 "$WORK/dry.conf"
dry_done() { [ "$(topic_count "$(topic dry-results)")" -ge "$want" ]; } # every record, copies skipped
wait_for $((90 * SLACK)) "the dry run's results" dry_done
consume "$(topic dry-results)" "$WORK/dry.json"
[ "$(calls)" = "$before" ] || fail "the dry run called the API: $(calls) calls, $before before"
python3 - "$WORK/dry.json" <<'EOF' || fail "the dry run's outcomes are not dry_run and refused"
import json, sys
o = [json.loads(json.loads(l)["payload"])["data"]["outcome"] for l in open(sys.argv[1])]
sys.exit(0 if set(o) <= {"dry_run", "refused"} and "dry_run" in o else 1)
EOF
pass "a dry run writes its results and calls nothing"
stop_replicas
