#!/usr/bin/env bash
# The port-out state topic (state.enabled) on a real broker against the fake
# Telnyx API: the table (latest record per key) equals the fake's port-outs,
# field for field, for every port-out that had an event; no key has two
# records with the same updated_at; events replayed in reverse order and
# twice write nothing; a change with no event arrives by the resync; with an
# advertised rate limit nothing is lost and 429s stay rare; `show` prints the
# timeline of a port-out whose events came by all three paths, a dead letter
# among them; with privacy.hash the PIN is on no topic (dead letters too), in
# no log line and in no `show` output, and equal PINs carry equal hashes.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
head -c 32 /dev/urandom | base64 > "$WORK/hash.key"
start_fake 30
write_config
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
privacy = { hash = "payload.attempted_pin"; drop = "end_user_name"; hash_key_file = "$WORK/hash.key"; };
telnyx = { poll_enabled = true; poll_interval_s = 1; poll_lookback_s = 31536000;
           poll_overlap_s = 5; poll_settle_s = 1; checkpoint_file = "$WORK/checkpoint"; page_size = 50; };
CONF
sed -i "s|^topics = {|topics = {\n  state = \"$(topic state)\";|" "$WORK/bridge.conf"
cat >> "$WORK/bridge.conf" <<CONF
state = { enabled = true; group = "it.$RUN_ID.state"; coalesce_ms = 200; resync_interval_s = 4; };
CONF
start_bridge "$WORK/bridge.conf"

STATE_DROP=end_user_name # the policy drops it: the table holds the rest
converged 60 || { tail -30 "$WORK/bridge.log"; fail "the state topic did not converge to the fake's port-outs"; }
echo "$c" | grep -q '"dup":0,"bad":0' || fail "records with the same updated_at twice, or not state records: $c"
pass "the table equals the fake's port-outs, end_user_name dropped ($c)"

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
ev0=$(metric "$ADMIN" portout_bridge_state_events_total)
f0=$(metric "$ADMIN" portout_bridge_state_fetches_total)
"$PB_BIN" -c "$WORK/bridge.conf" replay "$WORK/reverse.ndjson" 2> "$WORK/replay.log" || { cat "$WORK/replay.log"; fail "replay"; }
# The writer has read every replayed event and fetched every port-out of
# them again; then its fetches stop (what it writes, it writes by then).
n=$(wc -l < "$WORK/reverse.ndjson")
P=$(node -e 'const s=new Set(require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(Boolean).map(l=>JSON.parse(l).data.portout_id));console.log(s.size)' "$WORK/reverse.ndjson")
read_all() { [ "$(metric "$ADMIN" portout_bridge_state_events_total)" -ge $((ev0 + n)) ] &&
  [ "$(metric "$ADMIN" portout_bridge_state_fetches_total)" -ge $((f0 + P)) ]; }
wait_for 30 "the state writer reading the $n replayed events of $P port-outs" read_all
settled() { local a; a=$(metric "$ADMIN" portout_bridge_state_fetches_total); sleep 1; [ "$a" = "$(metric "$ADMIN" portout_bridge_state_fetches_total)" ]; }
wait_for 30 "the state writer's fetches to stop" settled
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
  // Without the pacing every request past the limit in a second would be
  // answered 429; with it, only one already in flight on another thread
  // when an answer said the window was spent can be (a few, more on a
  // loaded machine).
  if (r.limited > Math.max(3, total / 20)) process.exit(1);
' "$rate") || fail "the advertised limit was not honoured: $rate"
pass "rate limit honoured, with and without Retry-After: $summary"
curl -sf -X POST "$FAKE/_admin/faults" -d '{}' > /dev/null

# show: one port-out's events by all three paths and a dead letter, in time order.
PO=$(node -e 'const f=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(f.portouts[0].id)' "$WORK/fake.json")
printf '{"data":{"event_type":"portout.status_changed","id":"wh-%s","occurred_at":"2026-06-01T00:00:00Z","payload":{"id":"%s","status":"authorized","attempted_pin":"pin-2-secret"},"record_type":"event"},"meta":{"attempt":1}}' "$RUN_ID" "$PO" > "$WORK/wh.json"
r=$(post_signed_retry "$BASE/hook" "$WORK/wh.json"); [[ "$r" == 200* ]] || fail "webhook: $r"
printf '{"data":{"event_type":"portout.new_comment","id":"dl-%s","occurred_at":"2026-06-02T00:00:00Z","portout_id":"%s","payload":"not an object","record_type":"event"},"meta":{"attempt":1}}' "$RUN_ID" "$PO" > "$WORK/dl.json"
r=$(post_signed_retry "$BASE/hook" "$WORK/dl.json"); [[ "$r" == *dead_lettered* ]] || fail "dead letter: $r"
# Authentic, unusable (no port-out id anywhere) and carrying a PIN: its dead
# letter follows the privacy policy too.
printf '{"data":{"event_type":"portout.status_changed","id":"dlpin-%s","occurred_at":"2026-06-03T00:00:00Z","payload":{"status":"authorized","attempted_pin":"pin-2-secret"},"record_type":"event"},"meta":{"attempt":1}}' "$RUN_ID" > "$WORK/dlpin.json"
r=$(post_signed_retry "$BASE/hook" "$WORK/dlpin.json"); [[ "$r" == *dead_lettered* ]] || fail "dead letter with a PIN: $r"
printf '{"data":{"event_type":"portout.new_comment","id":"file-%s","occurred_at":"2026-07-01T00:00:00Z","payload":{"id":"c-1","portout_id":"%s","comment":"from a file"},"record_type":"event"}}\n' "$RUN_ID" "$PO" > "$WORK/one.ndjson"
"$PB_BIN" -c "$WORK/bridge.conf" replay "$WORK/one.ndjson" 2> "$WORK/replay2.log" || { cat "$WORK/replay2.log"; fail "replay"; }
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" > "$WORK/show.txt" 2> "$WORK/show.err" || { cat "$WORK/show.err"; fail "show"; }
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" --json > "$WORK/show.json" 2>> "$WORK/show.err" || fail "show --json"
grep -q "^port-out $PO: " "$WORK/show.txt" || { cat "$WORK/show.txt"; fail "show: no state line"; }
node -e '
  const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const paths = s.timeline.map((e) => e.type === "dead letter" ? "dead-letter/" + e.ingestpath : e.ingestpath);
  const times = s.timeline.map((e) => Date.parse(e.time));
  const sorted = times.every((t, i) => i === 0 || times[i - 1] <= t);
  const want = ["rest", "webhook", "dead-letter/webhook", "file"];
  if (!sorted || !want.every((p) => paths.includes(p)) || s.state_from !== "the state topic") {
    console.error(JSON.stringify(s, null, 1)); process.exit(1);
  }
  console.log(paths.join(" "));
' "$WORK/show.json" > "$WORK/paths.txt" || fail "show: the timeline is not every path in time order"
grep -q "records" "$WORK/show.err" || fail "show: no progress on stderr"
pass "show $PO: $(cat "$WORK/paths.txt"), in time order, state from the topic"

# Privacy: no PIN on any topic of the run, in any log, in show; equal PINs, equal hashes.
: > "$WORK/all.json"
for t in $(run_topics); do consume "$t" "$WORK/all.json"; done
if grep -l 'pin-[0-9]-secret' "$WORK/all.json" "$WORK"/*.log "$WORK/show.txt" "$WORK/show.json" "$WORK/show.err" 2>/dev/null; then
  fail "a PIN went downstream (files above)"
fi
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
  const byPin = new Map();
  for (const l of lines) {
    const r = JSON.parse(l); let e; try { e = JSON.parse(r.payload); } catch { continue; }
    const p = e && e.data && e.data.payload;
    if (!p || !p.attempted_pin) continue;
    const id = e.id || e.data.id; // an envelope, or a dead letter (the webhook body)
    const n = parseInt(id.slice(0, 8), 16); // the fake: PIN n % 5
    const pin = isNaN(n) || /^(wh|dlpin)-/.test(id) ? "pin-2-secret" : "pin-" + (n % 5) + "-secret";
    if (!byPin.has(pin)) byPin.set(pin, new Set());
    byPin.get(pin).add(p.attempted_pin);
  }
  const hashes = [...byPin.values()].map((s) => [...s]);
  if (!hashes.length || hashes.some((h) => h.length !== 1 || !h[0].startsWith("hmac-sha256:")) ||
      new Set(hashes.map((h) => h[0])).size !== hashes.length) { console.error(JSON.stringify(hashes)); process.exit(1); }
  console.log(hashes.length + " PINs, one hash each");
' "$WORK/all.json" > "$WORK/pins.txt" || fail "equal PINs do not carry equal hashes"
pass "privacy: no PIN on any topic, log or show output; $(cat "$WORK/pins.txt")"

curl -sf "$ADMIN/metrics" | grep -E '^portout_bridge_state_(portouts|oldest_pending_seconds|writer|api_calls_total)' > "$WORK/metrics.txt"
grep -q '^portout_bridge_state_writer 1' "$WORK/metrics.txt" || fail "no writer gauge"
grep -q 'portout_bridge_state_portouts{status="pending"}' "$WORK/metrics.txt" || fail "no status gauges"
pass "deadline gauges exported"
stop_bridge || fail "bridge exit"
check_sanitizers "$WORK/bridge.log"
stop_fake
