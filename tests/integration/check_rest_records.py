#!/usr/bin/env python3
"""Checks the records a REST ingest left in Kafka against the fake API's ids.
  check_rest_records.py IDS.json RECORDS.tsv TOPIC_PREFIX [--at-least-once]
RECORDS.tsv: kcat -f '%t\\t%k\\t%h\\n' lines. Every id must be there, on its
event type's topic, keyed by its port-out id; nothing else may be there; and
(unless --at-least-once) no id twice."""
import json
import sys

ids = json.load(open(sys.argv[1]))["ids"]
prefix = sys.argv[3]
at_least_once = "--at-least-once" in sys.argv
topics = {0: "status-changed", 1: "foc-date-changed", 2: "new-comment"}
want = {}
for i in ids:
    n = int(i[:8], 16)
    want[i] = (f"{prefix}.{topics[n % 3]}", f"{n % 97:08x}-1111-4000-8000-{n % 97:012x}")
seen = {}
bad = []
for line in open(sys.argv[2], encoding="utf-8"):
    line = line.rstrip("\n")
    if not line:
        continue
    topic, key, hdrs = line.split("\t", 2)
    ce_id = next((h[6:] for h in hdrs.split(",") if h.startswith("ce_id=")), None)
    if ce_id not in want:
        bad.append(f"unexpected record {ce_id} on {topic}")
        continue
    if (topic, key) != want[ce_id]:
        bad.append(f"{ce_id}: on {topic} key {key}, want {want[ce_id]}")
    seen[ce_id] = seen.get(ce_id, 0) + 1
missing = [i for i in ids if i not in seen]
dups = sum(c - 1 for c in seen.values())
if missing:
    bad.append(f"{len(missing)} event(s) missing, e.g. {missing[:3]}")
if dups and not at_least_once:
    bad.append(f"{dups} duplicate record(s)")
for b in bad[:20]:
    print("FAIL", b)
print(f"{len(ids)} events expected, {len(seen)} distinct in Kafka, {dups} duplicate(s)")
sys.exit(1 if bad else 0)
