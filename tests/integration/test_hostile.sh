#!/usr/bin/env bash
# Hostile input, end to end: every case of issue #15 and more, sent to the
# real binary as a hostile sender (signed webhooks with exact bytes) and as a
# hostile upstream (a Telnyx API whose pages splice in such bytes), then an
# outside validator (Python's json, made strict: tests/py/strict_json.py)
# reads every answer, every log line and every record of every topic of the
# run, and finds none that is not strict JSON in valid UTF-8. Nothing
# authentic is lost either: each hostile event is dead-lettered with its
# reason, the good ones are published, and the topic-size case is stored as
# a prefix with its hash.
source "$(dirname "$0")/lib.sh"
trap 'trap - ERR; stop_bridge || true; stop_fake; work_done' EXIT
PY=$PB_SOURCE_DIR/tests/py
PUB=$(node "$PB_SOURCE_DIR/scripts/webhook-dev.js" keygen "$WORK/keys")
export TELNYX_PUBLIC_KEY=$PUB

# The validator must be able to fail: each of these is refused.
printf '%s\n' '{"n":NaN}' '{"a":1,"a":2}' '{"s":"\ud800"}' > "$WORK/not-strict.txt"
printf '{"s":"\xc0\xaf"}\n' >> "$WORK/not-strict.txt"
n=$(python3 "$PY/strict_json.py" lines "$WORK/not-strict.txt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["not_strict_count"])' || true)
[ "$n" = 4 ] || fail "the validator let hostile lines by ($n of 4 refused)"

start_fake 0
write_config
sed -i 's/^log = .*/log = { level = "info"; format = "json"; };/' "$WORK/bridge.conf"
cat >> "$WORK/bridge.conf" <<CONF
webhook = { address = "127.0.0.1"; port = 0; paths = "/hook"; };
input = { max_event_bytes = 65536; };
CONF
# Topics smaller than the bridge's limit, as a broker may have them.
python3 - "$BOOTSTRAP" "$(topic status-changed)" "$(topic dlq)" <<'PY'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
fs = a.create_topics([NewTopic(sys.argv[2], 1, 1, config={"max.message.bytes": "20000"}),
                      NewTopic(sys.argv[3], 1, 1, config={"max.message.bytes": "30000"})])
for f in fs.values():
    f.result(30)
PY
start_bridge "$WORK/bridge.conf"

# --- a hostile sender: signed webhooks with exact bytes
mkdir -p "$WORK/cases" "$WORK/answers"
python3 "$(dirname "$0")/hostile_cases.py" "$WORK/cases" "$RUN_ID" > "$WORK/expect.txt"
bad=""
while read -r name want; do
  out=$(post_signed "$BASE/hook" "$WORK/cases/$name.json")
  cp "$WORK/resp" "$WORK/answers/$name.json"
  code=${out%% *}
  case $want in
    delivered | dead_lettered) [[ $out == "200 "*"\"status\":\"$want\""* ]] || bad+=" $name($out)" ;;
    *) [ "$code" = "$want" ] || bad+=" $name($out)" ;;
  esac
done < "$WORK/expect.txt"
[ -z "$bad" ] || fail "unexpected answers:$bad"
ncases=$(grep -c . "$WORK/expect.txt")
pass "$ncases hostile webhooks answered as they must (dead_lettered with the reason, delivered as sent, or 413)"

# The answer to the collapsed names says why.
grep -q 'has the member \\"id\\" more than once' "$WORK/answers/duplicate-data-id.json" \
  || fail "duplicate id answer: $(cat "$WORK/answers/duplicate-data-id.json")"
grep -q 'is -0' "$WORK/answers/minus-zero.json" || fail "-0 answer: $(cat "$WORK/answers/minus-zero.json")"

# --- the same event id with another payload (Telnyx re-sending an event whose
# payload has since completed): neither dropped as a duplicate nor published
# over the first; a retry that differs only in its delivery meta is a
# duplicate
python3 - "$WORK" "$RUN_ID" <<'PY'
import json, sys
w, run = sys.argv[1], sys.argv[2]
ev = {"data": {"record_type": "event", "event_type": "portout.status_changed", "id": f"rev-{run}",
               "occurred_at": "2026-03-05T12:30:45Z", "payload": {"id": "P-rev", "status": "pending"}},
      "meta": {"attempt": 1, "delivered_to": "https://example.com/hook"}}
open(f"{w}/rev1.json", "w").write(json.dumps(ev))
ev["meta"]["attempt"] = 2
open(f"{w}/rev1-retry.json", "w").write(json.dumps(ev))
ev["data"]["payload"]["status"] = "completed"
open(f"{w}/rev2.json", "w").write(json.dumps(ev))
PY
out=$(post_signed "$BASE/hook" "$WORK/rev1.json"); [[ $out == *'"status":"delivered"'* ]] || fail "first copy: $out"
out=$(post_signed "$BASE/hook" "$WORK/rev1-retry.json"); [[ $out == *'"status":"duplicate"'* ]] || fail "retry: $out"
out=$(post_signed "$BASE/hook" "$WORK/rev2.json"); cp "$WORK/resp" "$WORK/answers/rev2.json"
[[ $out == *'"status":"dead_lettered"'*conflict* ]] || fail "another payload, same id: $out"
out=$(post_signed "$BASE/hook" "$WORK/rev2.json"); [[ $out == *'"status":"duplicate"'* ]] || fail "the conflict re-sent: $out"
nc=$(metric "$ADMIN" portout_bridge_events_dead_lettered_total 'stage="conflict"')
[ "$nc" = 1 ] || fail "conflicts counted: $nc"
pass "the same id with another payload: dead-lettered as a conflict (counted, its bytes kept), the first copy stays; a retry is a duplicate"

# --- a hostile upstream: the API's pages carry the same bytes
for frag in '-0' 'NaN' '"a\xc0\xaf"' '18446744073709551616' '"\\ud800"' '1, "id": "dup"' '1, "payload": null'; do
  b64=$(printf -- "$frag" | base64 -w0)
  curl -sf -X POST "$FAKE/_admin/insert" -d "{\"raw_b64\": \"$b64\"}" > /dev/null
done
curl -sf -X POST "$FAKE/_admin/insert" -d '{"count": 3}' > /dev/null
since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
set +e
"$PB_BIN" -c "$WORK/bridge.conf" backfill --since "$since" --quiet > "$WORK/backfill.txt" 2> "$WORK/backfill.log"
rc=$?
set -e
[ $rc -eq 65 ] || fail "backfill exit $rc (want 65: some dead-lettered): $(cat "$WORK/backfill.txt" "$WORK/backfill.log")"
grep -q "10 event(s) read, .* 7 rejected; 3 delivered, 7 dead-lettered, 0 failed" "$WORK/backfill.txt" \
  || fail "backfill: $(cat "$WORK/backfill.txt")"
hid=$(curl -sf "$FAKE/_admin/events" | python3 -c 'import json,sys; print([e["id"] for e in json.load(sys.stdin)["events"]][0])')
set +e; "$PB_BIN" -c "$WORK/bridge.conf" fetch "$hid" > "$WORK/fetch.txt" 2> "$WORK/fetch.log"; frc=$?; set -e
[ $frc -eq 65 ] || fail "fetch of a hostile event: exit $frc: $(cat "$WORK/fetch.txt" "$WORK/fetch.log")"
pass "hostile API pages: the 7 hostile events dead-lettered one by one, the 3 others published; fetch refuses one (65)"

stop_bridge || fail "stop: exit $?"
check_sanitizers "$WORK/bridge.log" "$WORK/backfill.log" "$WORK/fetch.log"

# --- the outside validator, on everything the bridge wrote
python3 "$PY/strict_json.py" bodies "$WORK"/answers/*.json > "$WORK/v-answers.json" \
  || fail "answers not strict JSON: $(cat "$WORK/v-answers.json")"
python3 "$PY/strict_json.py" lines "$WORK/bridge.log" "$WORK/backfill.log" > "$WORK/v-logs.json" \
  || fail "log lines not strict JSON: $(cat "$WORK/v-logs.json")"
# A command's own messages (fetch's reason, backfill's summary) are text for
# a terminal: UTF-8, with the hostile bytes escaped.
python3 "$PY/strict_json.py" utf8 "$WORK/fetch.log" "$WORK/fetch.txt" "$WORK/backfill.txt" > "$WORK/v-text.json" \
  || fail "command output not UTF-8: $(cat "$WORK/v-text.json")"
python3 "$PY/strict_json.py" kafka "$BOOTSTRAP" "it.$RUN_ID." > "$WORK/v-kafka.json" \
  || fail "records not strict JSON: $(cat "$WORK/v-kafka.json")"
python3 - "$WORK/v-kafka.json" "$WORK/expect.txt" "$RUN_ID" <<'PY' || fail "what Kafka holds"
import json, sys
v = json.load(open(sys.argv[1]))
want = dict(l.split() for l in open(sys.argv[2]) if l.strip())
run = sys.argv[3]
n_dl_webhook = sum(1 for w in want.values() if w == "dead_lettered")
dls = v["dead_letters"]
web = [d for d in dls if d["ingest"] == "webhook"]
rest = [d for d in dls if d["ingest"] == "rest"]
assert len(web) == n_dl_webhook + 1, f"{len(web)} webhook dead letters, want {n_dl_webhook} + 1 conflict"
conf = [d for d in web if d["stage"] == "conflict"]
assert len(conf) == 1 and "already delivered" in conf[0]["error"], f"conflicts: {conf}"
assert len(rest) == 7, f"{len(rest)} REST dead letters, want 7"
assert all(d["error"] for d in dls), "a dead letter without its reason"
cut = [d for d in dls if d["cut"]]
assert len(cut) == 1, f"cut dead letters: {cut}"
assert any("MSG_SIZE_TOO_LARGE" in (d["error"] or "") or "too large" in (d["error"] or "") for d in cut), cut
enc = [d for d in dls if d["encoding"] == "json_base64"]
assert len(enc) >= 20, f"only {len(enc)} dead letters in json_base64"
delivered = {f"h-{run}-23", f"h-{run}-24", f"h-{run}-25", f"h-{run}-26", f"rev-{run}"}
assert delivered <= set(v["events"]), f"missing published events: {delivered - set(v['events'])}"
print(f"{v['records']} records on {len(v['topics'])} topics, all strict JSON in UTF-8: "
      f"{len(v['events'])} events, {len(dls)} dead letters ({len(enc)} as json_base64, {len(cut)} cut to a prefix)")
PY
summary=$(python3 - "$WORK/v-kafka.json" "$RUN_ID" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
print(f"{v['records']} records, {len(v['events'])} events, {len(v['dead_letters'])} dead letters")
PY
)
lines=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["lines"])' "$WORK/v-logs.json")
pass "outside validator (strict Python json): $ncases answers, $lines log lines, $summary: all strict JSON in valid UTF-8"
