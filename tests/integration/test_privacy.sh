#!/usr/bin/env bash
# The port-out PIN is a credential (issue 30, findings 2 and 3):
#   1. With the shipped configuration (no privacy settings), no PIN of a
#      test event is on any topic, in any log line or in `show`: events
#      delivered by webhook and by replay, dead letters of every stage
#      (normalize: no port-out id, not JSON at all, an element of a list
#      page; conflict: another payload under a delivered id).
#   2. With privacy.hash naming it, an attacker who reads the dead-letter
#      topic and tries all 10,000 PINs against every byte of every dead
#      letter (the SHA-256 of the sent bytes with each PIN put back, the
#      PIN in clear) finds none. Before, pb_original_sha256 (an unkeyed
#      digest of the bytes as sent) gave every PIN back.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; work_done' EXIT
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB
HOOK_PATH=/webhooks/telnyx/portouts
PO=5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70

# body NAME PIN ID [shape]: a signed-webhook body with attempted_pin = PIN.
#   shape ok (default), noid (no port-out id), cut (its second half gone),
#   status (the same event with another status: a conflict).
body() {
  python3 - "$FIX/webhook-status-changed.json" "$2" "$3" "${4:-ok}" > "$WORK/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pin, eid, shape = sys.argv[2], sys.argv[3], sys.argv[4]
d["data"]["id"] = eid
d["data"]["payload"]["attempted_pin"] = pin
if shape == "noid":
    del d["data"]["payload"]["id"]
if shape == "status":
    d["data"]["payload"]["status"] = "rejected-pending"
s = json.dumps(d, separators=(",", ":"))
if shape == "cut":
    s = s[: s.index(pin) + 40]
sys.stdout.write(s)
PY
}

config() { # config [privacy section]
  write_config
  cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; };
${1:-}
CONF
}

send() { # send NAME WANT_STATUS
  local out
  out=$(post_signed_retry "$BASE$HOOK_PATH" "$WORK/$1.json")
  [[ $out == "200 "*"\"$2\""* ]] || fail "$1: want 200 $2, got $out"
}

# --- 1. the shipped defaults
config
"$PB_BIN" -c "$WORK/bridge.conf" check-config > "$WORK/check.txt" 2>&1 || { cat "$WORK/check.txt"; fail check-config; }
start_bridge "$WORK/bridge.conf"
body ok 4711 pin-ev-1 && send ok delivered
body noid 4712 pin-ev-2 noid && send noid dead_lettered
body cut 4713 pin-ev-3 cut && send cut dead_lettered
body conflict 4714 pin-ev-1 status && send conflict dead_lettered
# A REST list page by replay: one element delivered, one unpublishable
# (a member name holding U+0000) dead-lettered alone.
python3 - "$FIX/rest-list.json" > "$WORK/page.ndjson" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a, b = d["data"][0], dict(d["data"][0])
a["id"], a["payload"] = "pin-ev-5", dict(a["payload"], attempted_pin="4715")
b["id"], b["payload"] = "pin-ev-6", dict(b["payload"], attempted_pin="4716")
s = json.dumps({"data": [a, b], "meta": d["meta"]}, separators=(",", ":"))
s = s.replace('"rejection_reason":', '"x\\u0000":1,"rejection_reason":', 2)
s = s.replace('"x\\u0000":1,', '', 1)  # only the second element keeps it
print(s)
PY
rc=0; "$PB_BIN" -c "$WORK/bridge.conf" replay "$WORK/page.ndjson" > "$WORK/replay.out" 2> "$WORK/replay.log" || rc=$?
[ $rc = 65 ] || { cat "$WORK/replay.log"; fail "replay exited $rc, want 65 (a dead letter)"; }
grep -q '1 published, 1 dead-lettered' "$WORK/replay.out" "$WORK/replay.log" ||
  { cat "$WORK/replay.out" "$WORK/replay.log"; fail "replay: the unpublishable element was not dead-lettered alone"; }
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" > "$WORK/show.txt" 2> "$WORK/show.err" || true
"$PB_BIN" -c "$WORK/bridge.conf" show "$PO" --json > "$WORK/show.json" 2>> "$WORK/show.err" || true
grep -q pin-ev-1 "$WORK/show.txt" || { cat "$WORK/show.txt" "$WORK/show.err"; fail "show does not list the events"; }
stop_bridge
: > "$WORK/all.json"
for t in $(run_topics); do consume "$t" "$WORK/all.json"; done
n=$(wc -l < "$WORK/all.json")
[ "$n" = 6 ] || { cat "$WORK/all.json"; fail "$n records on the run's topics, want 6 (2 events, 4 dead letters)"; }
dl=$(topic_count "$(topic dlq)")
[ "$dl" = 4 ] || fail "$dl dead letters, want 4 (no id, not JSON, conflict, list element)"
# Every byte written, as kcat shows it and with any {"raw_base64"} decoded.
python3 - "$WORK/all.json" > "$WORK/all.txt" <<'PY'
import base64, json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(line.strip())
    try:
        v = json.loads(r.get("payload") or "null")
        if isinstance(v, dict) and "raw_base64" in v:
            print(base64.b64decode(v["raw_base64"]).decode("utf-8", "replace"))
    except ValueError:
        pass
PY
if grep -nE '(^|[^0-9A-Za-z])471[1-6]([^0-9A-Za-z]|$)' "$WORK/all.txt" "$WORK/bridge.log" "$WORK/replay.log" "$WORK/replay.out" \
     "$WORK/show.txt" "$WORK/show.json" "$WORK/show.err" "$WORK/check.txt"; then
  fail "a PIN went downstream with the shipped configuration"
fi
# A dead letter keeps its bytes as sent but the PIN's value (null); the
# list element keeps the member name holding U+0000 that made it unusable.
grep -qF '"x\u0000":1' "$WORK/all.txt" || fail "the list element's dead letter lost its own bytes"
pass "shipped configuration: $n records, $dl dead letters, logs and show: no PIN"

# --- 2. privacy.hash: what a dead letter holds cannot be brute-forced
export PORTOUT_BRIDGE_HASH_KEY=0123456789abcdef0123456789abcdef
RUN_ID="$RUN_ID-hash"
config 'privacy = { hash = "payload.attempted_pin"; };'
start_bridge "$WORK/bridge.conf"
body ok2 5711 pin-ev-11 && send ok2 delivered
body noid2 5712 pin-ev-12 noid && send noid2 dead_lettered
body cut2 5713 pin-ev-13 cut && send cut2 dead_lettered
body conflict2 5714 pin-ev-11 status && send conflict2 dead_lettered
stop_bridge
: > "$WORK/dlq.json"
consume "$(topic dlq)" "$WORK/dlq.json"
python3 "$(dirname "$0")/pin_bruteforce.py" "$WORK/dlq.json" \
  "$WORK/noid2.json" 5712 "$WORK/cut2.json" 5713 "$WORK/conflict2.json" 5714 > "$WORK/brute.json" ||
  { cat "$WORK/brute.json"; fail "a PIN was found from the dead letters"; }
cat "$WORK/brute.json"; echo
grep -q '"records": 3' "$WORK/brute.json" || fail "want 3 dead letters"
grep -q 'hmac-sha256:' "$WORK/dlq.json" || fail "the dead letters carry no hashed PIN"
pass "privacy.hash: 10,000 PINs tried against every byte of 3 dead letters: none found"
check_sanitizers "$WORK/bridge.log"
