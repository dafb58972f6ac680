#!/usr/bin/env bash
# envelope.kafka_mode, read by consumers we did not write: each mode's
# records through the official CloudEvents SDKs, Node's (`cloudevents` on
# npm, Kafka.toEvent, records read by kcat) and Python's (`cloudevents` on
# PyPI, records read by confluent-kafka), must give back the envelopes that
# `portout-bridge normalize` prints for the same input.
#  - binary and structured_noheaders: both SDKs' own mode detection reads them;
#  - structured (the default: the envelope plus ce_* headers): Node's does;
#    Python's from_kafka_event takes any ce_ header for binary mode and gives
#    the whole envelope as data, so Python consumers call from_structured
#    (docs/envelope.md) or choose another mode. The test holds both facts, so
#    a change in the SDK shows.
source "$(dirname "$0")/lib.sh"
python3 -c 'import cloudevents.core.bindings.kafka, confluent_kafka' 2>/dev/null \
  || fail "PyPI cloudevents and confluent-kafka are not installed (scripts/install-deps.sh)"
cat "$FIX"/webhook-status-changed.json "$FIX"/webhook-foc-date-changed.json "$FIX"/webhook-new-comment.json \
  | tr -d '\n' | sed 's/}{"data"/}\n{"data"/g' > "$WORK/events.ndjson"
echo >> "$WORK/events.ndjson"
"$PB_BIN" normalize "$WORK/events.ndjson" > "$WORK/expected.ndjson"
[ "$(wc -l < "$WORK/expected.ndjson")" = 3 ] || { cat "$WORK/expected.ndjson"; fail "normalize"; }
for mode in structured structured_noheaders binary; do
  RUN_ID=modes-$mode-$(date +%s)-$RANDOM
  write_config
  echo "envelope = { kafka_mode = \"$mode\"; };" >> "$WORK/bridge.conf"
  "$PB_BIN" -c "$WORK/bridge.conf" replay --quiet "$WORK/events.ndjson" > "$WORK/replay.out" 2>&1 \
    || { cat "$WORK/replay.out"; fail "$mode: replay"; }
  # ingestpath is "file" for both (normalize and replay read files).
  : > "$WORK/records.ndjson"
  for t in status-changed foc-date-changed new-comment; do consume "$(topic $t)" "$WORK/records.ndjson"; done
  node "$JS/check-modes.js" "$mode" "$WORK/expected.ndjson" "$WORK/records.ndjson" || fail "$mode: Node SDK"
  python3 "$PB_SOURCE_DIR/tests/py/ce_consumer.py" "$BOOTSTRAP" \
    "$(topic status-changed)" "$(topic foc-date-changed)" "$(topic new-comment)" > "$WORK/py.ndjson" \
    || fail "$mode: the Python consumer"
  python3 - "$mode" "$WORK/expected.ndjson" "$WORK/py.ndjson" <<'PY' || fail "$mode: Python SDK"
import json, sys
mode = sys.argv[1]
want = {e["id"]: e for e in map(json.loads, open(sys.argv[2]))}
got = [json.loads(l) for l in open(sys.argv[3])]
assert len(got) == len(want), f"{len(got)} records for {len(want)} events"
def same(view, where):
    assert "error" not in view, f"{where}: {view['error']}"
    a = view["attributes"]
    w = want[a["id"]]
    for k in ("id", "type", "source", "subject", "partitionkey", "ingestpath", "datacontenttype"):
        assert a.get(k) == w[k], f"{where}: {k} {a.get(k)!r} != {w[k]!r}"
    assert view["data"] == w["data"], f"{where}: data differs: {str(view['data'])[:120]}"
for r in got:
    where = f"{r['topic']}@{r['offset']}"
    ce = [h for h in r["headers"] if h.startswith("ce_")]
    if mode == "structured":
        same(r["structured"], where + " from_structured")
        auto = r["auto"]
        # The SDK's detection: a ce_ header means binary, the value becomes data.
        assert "error" in auto or auto["data"].get("specversion") == "1.0", \
            f"{where}: from_kafka_event now reads structured records with ce_ headers right; update docs/envelope.md"
    elif mode == "structured_noheaders":
        assert not ce, ce
        same(r["auto"], where + " from_kafka_event")
        same(r["structured"], where + " from_structured")
    else:
        same(r["auto"], where + " from_kafka_event")
        same(r["binary"], where + " from_binary")
print(f"python cloudevents {mode}: {len(got)} records as the envelopes")
PY
  pass "$mode: the Node and Python CloudEvents SDKs read the envelopes back"
done
