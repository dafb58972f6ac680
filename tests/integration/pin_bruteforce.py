#!/usr/bin/env python3
"""An attacker with read access to the dead-letter topic, who wants a
port-out PIN (four digits) back from what the bridge wrote. For each dead
letter the test caused, it knows the bytes that were sent (with the real
PIN in them, as the attacker knows everything but the PIN: the rest of the
value is readable) and tries all 10,000 PINs:

  - the SHA-256 (hex) of the sent bytes with the PIN put back, anywhere in
    the record: its value, its key, every header (a digest of the original
    is a way back to it);
  - the PIN itself as a JSON string anywhere in the value, decoded from the
    {"raw_base64"} wrapper when there is one.

  pin_bruteforce.py RECORDS.json SENT_FILE PIN [SENT_FILE PIN ...]

RECORDS.json: kcat -J lines of the dead-letter topic. Prints JSON: how many
records were searched, and every PIN found and how. Exit 0 when none was.
"""
import base64
import hashlib
import json
import sys

records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sent = [(open(sys.argv[i], "rb").read(), sys.argv[i + 1]) for i in range(2, len(sys.argv), 2)]


def bytes_of(rec):
    """Every byte the bridge wrote for the record, as text."""
    parts = [rec.get("payload") or "", rec.get("key") or ""]
    hs = rec.get("headers") or []
    parts += [str(h) for h in hs]
    value = rec.get("payload") or ""
    try:
        v = json.loads(value)
        if isinstance(v, dict) and "raw_base64" in v:
            parts.append(base64.b64decode(v["raw_base64"]).decode("utf-8", "replace"))
    except ValueError:
        pass
    return "\n".join(parts)


texts = [bytes_of(r) for r in records]
found = []
for original, pin in sent:
    if pin.encode() not in original:
        sys.exit(f"the sent bytes do not hold the PIN {pin}")
    for c in range(10000):
        cand = f"{c:04d}"
        digest = hashlib.sha256(original.replace(pin.encode(), cand.encode())).hexdigest()
        for t in texts:
            if digest in t:
                found.append({"pin": cand, "real": pin, "how": "sha256 of the original"})
    for t in texts:
        if f'"{pin}"' in t:
            found.append({"pin": pin, "real": pin, "how": "in clear"})
print(json.dumps({"records": len(records), "tried": 10000 * len(sent), "found": found}))
sys.exit(1 if found else 0)
