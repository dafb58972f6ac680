#!/usr/bin/env bash
# REST ingest against a fake Telnyx API (tests/fake_telnyx, the documented
# contract with faults) and the real broker: fetch, republish, a 10,000-event
# backfill over 40 pages (plain, under 429 and 5xx storms, with bad bodies,
# with events inserted while paging), a wrong key, and a polling bridge
# killed with SIGKILL mid-poll that loses nothing.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; stop_fake; work_done' EXIT

faults() { curl -sf -X POST "$FAKE/_admin/faults" -d "$1" > /dev/null; }
new_run() { # fresh topics for a new scenario
  RUN_ID=$1-$(date +%s)-$RANDOM
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
telnyx = { retry_base_ms = 50; retry_max_ms = 400; max_retries = 10; timeout_ms = ${REST_TIMEOUT_MS:-2000};
           checkpoint_file = "$WORK/checkpoint.json"; poll_interval_s = 1; poll_lookback_s = 31536000; };
CONF
}
collect() { # kcat view of this run's three topics
  : > "$WORK/records.tsv"
  for t in status-changed foc-date-changed new-comment; do
    kcat -C -b "$BOOTSTRAP" -t "$(topic $t)" -o beginning -e -q -f '%t\t%k\t%h\n' >> "$WORK/records.tsv" 2>/dev/null || true
  done
  curl -sf "$FAKE/_admin/ids" > "$WORK/ids.json"
}

start_fake 10000
new_run fetch

# --- fetch and republish
id=00000005-0000-4000-8000-000000000005
"$PB_BIN" -c "$WORK/bridge.conf" fetch "$id" > "$WORK/env.json" || fail "fetch exit $?"
node "$JS/validate-envelopes.js" "$WORK/env.json" >/dev/null || fail "fetched envelope vs schema"
grep -q '"ingestpath":"rest"' "$WORK/env.json" || fail "ingestpath"
set +e; "$PB_BIN" -c "$WORK/bridge.conf" fetch no-such-event > /dev/null 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 65 ] && grep -q "event no-such-event: not found: HTTP 404: 10005" "$WORK/err" || fail "fetch missing: $rc $(cat "$WORK/err")"
"$PB_BIN" -c "$WORK/bridge.conf" fetch "$id" --publish > /dev/null 2> "$WORK/err" || fail "fetch --publish: $(cat "$WORK/err")"
grep -q "delivered to $(topic new-comment)" "$WORK/err" || fail "fetch --publish report: $(cat "$WORK/err")"
"$PB_BIN" -c "$WORK/bridge.conf" republish "$id" | grep -q "republish requested" || fail "republish"
[ "$(curl -s "$FAKE/_admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["republish"])')" = 1 ] || fail "republish not seen by the API"
set +e; "$PB_BIN" -c "$WORK/bridge.conf" republish no-such-event 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 65 ] || fail "republish missing: $rc $(cat "$WORK/err")"
pass "fetch (envelope, 404 -> 65, --publish), republish (204; 404 -> 65)"

# --- the fake API compares filter[created_at] as instants, whatever the offset
# (the Python SDK sends offsets): the same period in UTC and in +02:00
utc=$(curl -sf -H "Authorization: Bearer $TELNYX_API_KEY" "$FAKE/v2/portouts/events?filter%5Bcreated_at%5D%5Bgte%5D=2026-03-01T02:00:00Z&page%5Bsize%5D=250" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["total_results"])')
off=$(curl -sf -H "Authorization: Bearer $TELNYX_API_KEY" "$FAKE/v2/portouts/events?filter%5Bcreated_at%5D%5Bgte%5D=2026-03-01T04:00:00%2B02:00&page%5Bsize%5D=250" | python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["total_results"])')
[ "$utc" = "$off" ] || fail "the fake API reads filter[created_at] with an offset as UTC: $utc vs $off"

# --- a 409 is retried, as the official SDKs do (408, 409, 429, 5xx)
faults '{"fail_next": {"count": 2, "status": 409}}'
"$PB_BIN" -c "$WORK/bridge.conf" fetch "$id" > /dev/null 2> "$WORK/err" || fail "fetch through two 409s: $(cat "$WORK/err")"
grep -q 'HTTP 409' "$WORK/err" || fail "the 409s were not seen: $(cat "$WORK/err")"
faults '{}'
pass "HTTP 409 retried (then 200)"

# --- ids never steer the API key: refused before any request (64)
before=$(curl -sf "$FAKE/_admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
long=$(printf 'a%.0s' $(seq 1 9000))
for args in "fetch .." "fetch ." "fetch ''" "fetch ../../portouts" "fetch a%2F.." "republish .." "fetch $long" "backfill --portout-id $long" "backfill --portout-id .."; do
  set +e; eval "\"\$PB_BIN\" -c \"\$WORK/bridge.conf\" $args" > /dev/null 2> "$WORK/err"; rc=$?; set -e
  [ $rc -eq 64 ] || fail "${args:0:40}: exit $rc, want 64: $(head -c 300 "$WORK/err")"
done
after=$(curl -sf "$FAKE/_admin/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
[ "$before" = "$after" ] || fail "a refused id still reached the API ($before -> $after requests)"
pass "fetch/republish/backfill refuse ids outside [A-Za-z0-9_-]{1,64} (., .., slashes, 9,000 characters) with 64, before any request"

# --- a wrong key: a clear error, nothing published
set +e; TELNYX_API_KEY=wrong "$PB_BIN" -c "$WORK/bridge.conf" backfill > "$WORK/out" 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 78 ] || fail "wrong key: exit $rc"
grep -q "the API key was refused (check TELNYX_API_KEY): HTTP 401: 10009" "$WORK/err" || fail "wrong key message: $(cat "$WORK/err")"
! grep -q "wrong" "$WORK/err" "$WORK/out" || fail "the key was printed"
grep -q "0 published" "$WORK/out" || fail "wrong key published something"
set +e; env -u TELNYX_API_KEY "$PB_BIN" -c "$WORK/bridge.conf" backfill > /dev/null 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 78 ] && grep -q "no Telnyx API key" "$WORK/err" || fail "no key: $rc"
pass "wrong or missing API key: exit 78, clear message, key not echoed, nothing published"

# --- Telnyx refuses the request (422): its errors[].detail is reported
set +e; "$PB_BIN" -c "$WORK/bridge.conf" backfill --event-type portout.bogus > "$WORK/out" 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 65 ] && grep -q "Telnyx rejected the request: HTTP 422: 10015: filter\[event_type\] must be one of" "$WORK/err" || fail "422: $rc $(cat "$WORK/err")"
set +e; "$PB_BIN" -c "$WORK/bridge.conf" backfill --since yesterday > /dev/null 2> "$WORK/err"; rc=$?; set -e
[ $rc -eq 64 ] && grep -q "needs an RFC 3339 time" "$WORK/err" || fail "bad --since: $rc"
pass "422 reports Telnyx's detail (exit 65); a bad --since is a usage error (64)"

# --- 10,000 events over 40 pages, exactly once
backfill_exact() { # name faults-json
  new_run "$1"; faults "$2"
  "$PB_BIN" -c "$WORK/bridge.conf" backfill > "$WORK/summary" 2> "$WORK/err" || { cat "$WORK/summary" "$WORK/err"; fail "$1: backfill exit $?"; }
  cat "$WORK/summary"
  faults '{}'
  collect
  python3 "$(dirname "$0")/check_rest_records.py" "$WORK/ids.json" "$WORK/records.tsv" "it.$RUN_ID" || fail "$1: records"
  : > "$WORK/values.ndjson"
  for t in status-changed foc-date-changed new-comment; do
    kcat -C -b "$BOOTSTRAP" -t "$(topic $t)" -o beginning -e -q -f '%s\n' >> "$WORK/values.ndjson"
  done
  node "$JS/validate-envelopes.js" "$WORK/values.ndjson" | tail -1 || fail "$1: envelopes vs schema"
}
backfill_exact plain '{}'
grep -q "^backfill: 40 page(s) in 1 pass(es), 40 HTTP request(s); 10000 event(s) read, 10000 published" "$WORK/summary" || fail "40 pages"
pass "backfill: 10,000 events over 40 pages, each once, right topic and key"

backfill_exact storm '{"rate_limit": {"every": 4, "reset": 0}, "error_burst": {"every": 9, "count": 3, "status": 500}}'
grep -q "HTTP 429" "$WORK/err" && grep -q "HTTP 500" "$WORK/err" || fail "the storm did not happen"
pass "backfill through 429 and 500 storms: 10,000 exactly once"

# A short client timeout, so each too-slow answer costs 0.7 s, not 2.
REST_TIMEOUT_MS=700 backfill_exact bodies '{"error_burst": {"every": 7, "count": 2, "status": 503}, "truncate": {"every": 5}, "nonjson": {"every": 6}, "slow": {"every": 11, "ms": 1000}}'
grep -q "truncated" "$WORK/err" && grep -q "not a JSON object" "$WORK/err" && grep -q "Timeout was reached" "$WORK/err" || fail "bad bodies / slow answers did not happen: $(head -5 "$WORK/err")"
pass "backfill through truncated, non-JSON and too-slow answers and 503 bursts: exactly once"

backfill_exact shifting '{"insert_while_paging": {"after": 10, "count": 25}}'
grep -q "2 pass(es)" "$WORK/summary" || fail "no second pass"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ids"]))' "$WORK/ids.json")" = 10025 ] || fail "inserted count"
pass "pages shifting while read (25 events inserted mid-scan): all 10,025 once"

# --- polling: SIGKILL mid-poll, restart, nothing lost
start_fake 10000 --faults '{"slow": {"every": 1, "ms": 100}}'
new_run poll
cat >> "$WORK/bridge.conf" <<CONF
webhook = { enabled = false; address = "127.0.0.1"; port = 0; };
CONF
sed -i 's/telnyx = {/telnyx = { poll_enabled = true; page_size = 100;/' "$WORK/bridge.conf"
rm -f "$WORK/checkpoint.json"
start_bridge "$WORK/bridge.conf" "$WORK/poll1.log"
published() { n=$(metric "$ADMIN" portout_bridge_events_published_total 'topic="it.'); [ "$n" -ge 1500 ]; }
wait_for 20 "1500 events published by the first poll" published
kill -9 "$BRIDGE_PID"; wait "$BRIDGE_PID" 2>/dev/null || true; BRIDGE_PID=""
[ ! -f "$WORK/checkpoint.json" ] || fail "checkpoint written before the first poll was delivered"
pass "polling bridge killed with SIGKILL mid-poll (after $n events)"
faults '{}'
start_bridge "$WORK/bridge.conf" "$WORK/poll2.log"
for _ in $(seq 1 300); do [ -f "$WORK/checkpoint.json" ] && break; sleep 0.2; done
[ -f "$WORK/checkpoint.json" ] || { cat "$WORK/poll2.log"; fail "no checkpoint after the restart"; }
# new events while polling are picked up by the next poll
curl -sf -X POST "$FAKE/_admin/insert" -d '{"count": 5}' > /dev/null
for _ in $(seq 1 100); do
  grep -q "poll: [0-9]* event(s) read, 5 delivered" "$WORK/poll2.log" && break; sleep 0.2
done
stop_bridge || fail "poller stop"
collect
python3 "$(dirname "$0")/check_rest_records.py" "$WORK/ids.json" "$WORK/records.tsv" "it.$RUN_ID" --at-least-once || fail "poll after SIGKILL lost events"
pass "after the restart every one of the 10,005 events is in Kafka (at least once), checkpoint written"

# --- an unusable event is dead-lettered once: not again on every poll of
# the overlap window, nor on every pass of a backfill
start_fake 20
new_run rejects
cat >> "$WORK/bridge.conf" <<CONF
webhook = { enabled = false; };
CONF
sed -i 's/telnyx = {/telnyx = { poll_enabled = true;/' "$WORK/bridge.conf"
rm -f "$WORK/checkpoint.json"
curl -sf -X POST "$FAKE/_admin/insert" -d '{"count": 1, "bad": true}' > /dev/null
curl -sf -X POST "$FAKE/_admin/insert" -d '{"count": 2}' > /dev/null
start_bridge "$WORK/bridge.conf" "$WORK/rejects.log"
for _ in $(seq 1 100); do [ "$(grep -c 'msg="poll:' "$WORK/rejects.log")" -ge 6 ] && break; sleep 0.2; done
stop_bridge || fail "stop"
check_sanitizers "$WORK/rejects.log"
polls=$(grep -c 'msg="poll:' "$WORK/rejects.log")
[ "$polls" -ge 6 ] || fail "only $polls polls"
n=$(topic_count "$(topic dlq)")
[ "$n" -eq 1 ] || fail "the unusable event was dead-lettered $n times in $polls polls, want once"
pass "an unusable event in the overlap window: dead-lettered once in $polls polls"
new_run rejects-backfill
sed -i 's/telnyx = {/telnyx = { page_size = 10;/' "$WORK/bridge.conf"
faults '{"insert_while_paging": {"after": 2, "count": 3}}'
set +e; "$PB_BIN" -c "$WORK/bridge.conf" backfill > "$WORK/summary" 2> "$WORK/err"; rc=$?; set -e
faults '{}'
grep -q "in 2 pass(es)" "$WORK/summary" || fail "no second pass: $(cat "$WORK/summary")"
[ $rc -eq 65 ] || fail "backfill with an unusable event: exit $rc, want 65"
n=$(topic_count "$(topic dlq)")
[ "$n" -eq 1 ] || fail "a 2-pass backfill dead-lettered the unusable event $n times, want once"
pass "a 2-pass backfill: the unusable event dead-lettered once (exit 65)"

# --- progress of a long backfill: log lines off a terminal, a live line on
# one (script(1) gives it a terminal), nothing with --quiet
start_fake 2000 --faults '{"slow": {"every": 1, "ms": 400}}'
new_run progress
sed -i 's/telnyx = {/telnyx = { page_size = 100;/' "$WORK/bridge.conf"
"$PB_BIN" -c "$WORK/bridge.conf" backfill > /dev/null 2> "$WORK/progress.err" || fail "backfill for progress: $(tail -3 "$WORK/progress.err")"
grep -q 'msg="backfill progress: [0-9]*/20 pages ([0-9]*%), [0-9.k]* events, [0-9.k]* delivered, [0-9.k]*/s, ETA' "$WORK/progress.err" \
  || fail "no progress lines off a terminal: $(cat "$WORK/progress.err")"
# On a terminal the line is redrawn four times a second: 2 s of pages show
# it, and show that --quiet (also on a terminal) draws none.
faults '{"slow": {"every": 1, "ms": 100}}'
new_run progress-tty
sed -i 's/telnyx = {/telnyx = { page_size = 100;/' "$WORK/bridge.conf"
script -qec "'$PB_BIN' -c '$WORK/bridge.conf' backfill > /dev/null" /dev/null > "$WORK/tty.out" || fail "backfill on a terminal"
grep -q $'\rbackfill: [0-9]*/20 pages' "$WORK/tty.out" || fail "no live line on a terminal: $(head -c 300 "$WORK/tty.out" | od -c | head -5)"
grep -q '20/20 pages (100%), 2000 events, 2000 delivered' "$WORK/tty.out" || fail "the final live line"
new_run progress-quiet
sed -i 's/telnyx = {/telnyx = { page_size = 100;/' "$WORK/bridge.conf"
script -qec "'$PB_BIN' -c '$WORK/bridge.conf' backfill --quiet > /dev/null" /dev/null > "$WORK/quiet.err" || fail "backfill --quiet"
! grep -q 'backfill:\|progress' "$WORK/quiet.err" || fail "--quiet still shows progress: $(head -c 300 "$WORK/quiet.err" | od -c | head -5)"
pass "backfill progress: a log line every 5 s off a terminal, a live line on one (pages of total, events, delivered, rate, ETA), none with --quiet"

# --- hybrid, with a webhook id that is not the REST id (docs/telnyx-api.md
# §7 leaves it open): each event lands twice, once by each path, and the
# consumers' documented fallback, (subject, type, time to the second),
# pairs every webhook copy with its REST copy and nothing else.
start_fake 0 --webhook-ids differ
new_run hybrid
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
CONF
rm -f "$WORK/checkpoint.json"
sed -i 's/telnyx = {/telnyx = { poll_enabled = true; poll_overlap_s = 5; poll_settle_s = 1;/' "$WORK/bridge.conf"
TELNYX_PUBLIC_KEY=$PUB start_bridge "$WORK/bridge.conf" "$WORK/hybrid.log"
SEND_TO=$BASE/hook sender_start '{"rate": 50, "count": 60, "skip_every": 0, "threads": 4}'
sender_done 60
polled_past_last 60
wait_quiet "$ADMIN"
: > "$WORK/hybrid.ndjson"
for t in status-changed foc-date-changed new-comment; do consume "$(topic $t)" "$WORK/hybrid.ndjson"; done
curl -sf "$FAKE/_admin/events" > "$WORK/events.json"
python3 - "$WORK/hybrid.ndjson" "$WORK/events.json" > "$WORK/hybrid.txt" <<'PY' || fail "hybrid with differing ids: $(cat "$WORK/hybrid.txt")"
import collections, json, sys
envs = [json.loads(json.loads(l)["payload"]) for l in open(sys.argv[1]) if l.strip()]
api = json.load(open(sys.argv[2]))["events"]
groups = collections.defaultdict(list)
for e in envs:
    groups[(e["subject"], e["type"], e["time"][:19])].append((e["ingestpath"], e["id"]))
pairs = [g for g in groups.values() if sorted(p for p, _ in g) == ["rest", "webhook"] and g[0][1] != g[1][1]]
print(f"{len(api)} events, {len(envs)} records, {len(groups)} groups by (subject, type, time to the second), "
      f"{len(pairs)} of them a webhook copy and a REST copy under two ids")
assert len(api) == 60 and len(envs) == 120, "each event once by each path"
assert len(groups) == 60 and len(pairs) == 60, [g for g in groups.values() if g not in pairs][:3]
PY
stop_bridge || fail "hybrid bridge exit $?"
check_sanitizers "$WORK/hybrid.log"
pass "hybrid, webhook ids not the REST ids: $(cat "$WORK/hybrid.txt")"
