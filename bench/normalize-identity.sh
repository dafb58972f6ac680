#!/usr/bin/env bash
# Byte identity of `normalize` between two builds (measures nothing, fails
# only on a difference): the output of BEFORE and AFTER, clock frozen, on
# bench/replay.sh's webhook deliveries, REST event records of every shape
# (a fifth with attempted_pin, a quarter without a top-level portout_id,
# escapes, numbers of every form), those records as list pages, the fixtures, the fuzz seeds and any
# corpus directories named in PB_CORPUS (a file a line), each under three
# privacy policies. A change to normalizing is done only when this prints
# "identical" for the tree before it.
#   bench/normalize-identity.sh BEFORE_BIN AFTER_BIN [N]   (default 200000)
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=$1 AFTER=$2 N=${3:-200000}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

awk '/^python3 - "\$N" > "\$W\/events.ndjson"/{f=1;next} f&&/^PY$/{exit} f' bench/replay.sh > "$W/gen.py"
python3 "$W/gen.py" "$N" > "$W/events.ndjson"
python3 - "$((N / 10))" > "$W/rest.ndjson" <<'PY'
import json, random, sys, uuid
random.seed(27)
n = int(sys.argv[1])
types = ["portout.status_changed", "portout.foc_date_changed", "portout.new_comment", "portout.other_thing"]
nums = [0, -1, 7, 2**53, -2**63, 2**63 - 1, 2**64, 1.5, -0.0, 1e300, 3.14159, 12345678901234567890]
for i in range(n):
    t = types[i % 4]
    po = str(uuid.UUID(int=i % 500))
    payload = {"id": po, "status": random.choice(["pending", "authorized", "ported", "cancel-pending"]),
               "n": random.choice(nums), "note": random.choice(["plain", "tab\there", "quote \" and \\ slash /",
                                                                 "caf\u00e9 \u2603 \U0001F600", "ctl \u0001\u001f"]),
               "phone_numbers": ["+1555%07d" % i], "nested": {"a": [1, {"b": None, "c": True}], "d": False}}
    if i % 5 == 0:
        payload["attempted_pin"] = "%04d" % (i % 10000)
    rec = {"id": str(uuid.UUID(int=2**65 + i)), "event_type": t, "record_type": "portout_event",
           "created_at": "2026-03-%02dT%02d:%02d:%02d.%03dZ" % (1 + i % 28, i % 24, i % 60, i % 60, i % 1000),
           "occurred_at": random.choice(["2026-03-05T12:30:45Z", "2026-03-05T12:30:45.123456Z", None]),
           "payload": payload, "available_notification_methods": ["email", "webhook"]}
    if i % 4:
        rec["portout_id"] = po
    print(json.dumps(rec, separators=random.choice([(",", ":"), (", ", ": ")]), ensure_ascii=random.random() < 0.5))
PY
# The same records as list pages of 50 (a backfill's shape), one a line.
python3 - "$W/rest.ndjson" > "$W/pages.ndjson" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
for i in range(0, len(lines), 50):
    sep = ", " if i % 100 else ","
    print('{"data": [' + sep.join(lines[i:i + 50]) + '], "meta": {"page_number": %d, "total_pages": 0}}' % (i // 50 + 1))
PY
for f in tests/fixtures/*.json tests/fuzz/seeds/normalize/* tests/fuzz/seeds/json/* ${PB_CORPUS:+$PB_CORPUS/*}; do
  [ -f "$f" ] && { tr '\n' ' ' < "$f"; echo; }
done > "$W/corpus.ndjson"

printf 'sixteen-byte-key-for-the-identity-check\n' > "$W/key"
policy() {
  cat <<CONF
log = { level = "error"; };
kafka = { brokers = "127.0.0.1:9"; };
privacy = { $1 hash_key_file = "$W/key"; };
CONF
}
policy '' > "$W/p1.conf"
policy 'drop = "payload.phone_numbers,telnyx.available_notification_methods"; hash = "payload.note,payload.attempted_pin";' > "$W/p2.conf"
policy 'hash = "telnyx";' > "$W/p3.conf"

diffs=0
for input in events rest pages corpus; do
  for p in p1 p2 p3; do
    for b in before after; do
      bin=$BEFORE; [ $b = after ] && bin=$AFTER
      faketime -f '2026-03-05 12:00:00' "$bin" -c "$W/$p.conf" normalize "$W/$input.ndjson" \
        > "$W/$b.out" 2> "$W/$b.err" || true
      cat "$W/$b.err" >> "$W/$b.out" # the refusals' words too
    done
    lines="$(wc -l < "$W/after.err") refusals, $(($(wc -l < "$W/after.out") - $(wc -l < "$W/after.err"))) envelopes"
    if cmp -s "$W/before.out" "$W/after.out"; then
      echo "$input/$p: identical ($lines, $(sha256sum < "$W/after.out" | cut -c1-16))"
    else
      echo "$input/$p: DIFFERENT"; { cmp "$W/before.out" "$W/after.out" || true; } | head -1; diffs=$((diffs + 1))
    fi
  done
done
[ $diffs = 0 ] && echo identical
exit $((diffs > 0))
