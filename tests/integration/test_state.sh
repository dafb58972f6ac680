#!/usr/bin/env bash
# The port-out state topic (state.enabled) on a real broker against the fake
# Telnyx API: the table (latest record per key) equals the fake's port-outs,
# field for field, for every port-out that had an event; no key has two
# records with the same updated_at; events replayed in reverse order and
# twice write nothing; a change with no event arrives by the resync; with an
# advertised rate limit nothing is lost and 429s stay rare.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
start_fake 30
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { enabled = false; };
telnyx = { poll_enabled = true; poll_interval_s = 1; poll_lookback_s = 31536000;
           poll_overlap_s = 5; checkpoint_file = "$WORK/checkpoint"; page_size = 50; };
CONF
sed -i "s|^topics = {|topics = {\n  state = \"$(topic state)\";|" "$WORK/bridge.conf"
cat >> "$WORK/bridge.conf" <<CONF
state = { enabled = true; group = "it.$RUN_ID.state"; coalesce_ms = 200; resync_interval_s = 4; };
CONF
start_bridge "$WORK/bridge.conf"

converged 60 || { tail -30 "$WORK/bridge.log"; fail "the state topic did not converge to the fake's port-outs"; }
echo "$c" | grep -q '"dup":0,"bad":0' || fail "records with the same updated_at twice, or not state records: $c"
pass "the table equals the fake's port-outs ($c)"

# Repeats and reverse order: the events of the run replayed newest first,
# twice: every port-out is fetched again and nothing is written.
before=$(topic_count "$(topic state)")
consume "$(topic status-changed)" "$WORK/events.json"
consume "$(topic foc-date-changed)" "$WORK/events.json"
node -e '
  const fs = require("fs");
  const evs = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)
    .map((l) => JSON.parse(JSON.parse(l).payload)).sort((a, b) => b.time.localeCompare(a.time));
  const rest = (e) => ({id: e.id, event_type: e.data.event_type, portout_id: e.data.portout_id,
    payload: e.data.payload, record_type: "portout_event", created_at: e.time, updated_at: e.time,
    payload_status: "completed"});
  for (let i = 0; i < 2; i++) for (const e of evs) console.log(JSON.stringify({data: {...rest(e), id: e.id + "-again" + i}}));
' "$WORK/events.json" > "$WORK/reverse.ndjson"
"$PB_BIN" -c "$WORK/bridge.conf" replay "$WORK/reverse.ndjson" 2> "$WORK/replay.log" || { cat "$WORK/replay.log"; fail "replay"; }
sleep 3
converged 30 || fail "not converged after the reverse replay"
after=$(topic_count "$(topic state)")
[ "$after" = "$before" ] || fail "events replayed in reverse and twice wrote $((after - before)) record(s)"
pass "$(wc -l < "$WORK/reverse.ndjson") events replayed newest first and twice: nothing written ($after records)"

# A change with no event: the resync (every 4 s) finds it.
po=$(node -e 'const f=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(f.portouts.find(p=>p.status==="pending").id)' "$WORK/fake.json")
curl -sf -X POST "$FAKE/_admin/portouts/update" -d "{\"id\":\"$po\",\"status\":\"authorized\"}" > /dev/null
converged 15 || fail "the change with no event did not arrive within the resync interval"
grep -q 'resync read' "$WORK/bridge.log" || fail "no resync logged"
pass "a change with no event reached the table by the resync"

# An advertised limit of 5 requests a second (429 past it, with and without
# Retry-After), 40 new events each time: nothing lost, and the bridge waits
# for the window when an answer says it is spent, so 429s stay rare.
for ra in true false; do
  curl -sf -X POST "$FAKE/_admin/faults" -d "{\"limit\":{\"per_s\":5,\"retry_after\":$ra}}" > /dev/null
  curl -sf -X POST "$FAKE/_admin/insert" -d '{"count":40}' > /dev/null
  converged 90 || fail "not converged under the rate limit (Retry-After: $ra)"
done
rate=$(curl -sf "$FAKE/_admin/rate")
summary=$(node -e '
  const r = JSON.parse(process.argv[1]);
  const per = Object.values(r.per_second);
  const total = per.reduce((a, b) => a + b, 0);
  console.log(`${r.limited} of ${total} requests answered 429, at most ${Math.max(...per)} in one second`);
  if (r.limited > 3) process.exit(1);
' "$rate") || fail "the advertised limit was not honoured: $rate"
pass "rate limit honoured, with and without Retry-After: $summary"
curl -sf -X POST "$FAKE/_admin/faults" -d '{}' > /dev/null

curl -sf "$ADMIN/metrics" | grep -E '^portout_bridge_state_(portouts|oldest_pending_seconds|writer|api_calls_total)' > "$WORK/metrics.txt"
grep -q '^portout_bridge_state_writer 1' "$WORK/metrics.txt" || fail "no writer gauge"
grep -q 'portout_bridge_state_portouts{status="pending"}' "$WORK/metrics.txt" || fail "no status gauges"
pass "deadline gauges exported"
stop_bridge || fail "bridge exit"
check_sanitizers "$WORK/bridge.log"
stop_fake
