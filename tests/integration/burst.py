#!/usr/bin/env python3
"""N concurrent signed webhooks (one connection each), distinct event ids.

  burst.py URL KEY.pem N ID_PREFIX

Prints JSON: each response's status, error name and latency in ms."""
import base64
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import load_pem_private_key

url, key_path, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
key = load_pem_private_key(open(key_path, "rb").read(), None)
u = urlsplit(url)
results = [None] * n
go = threading.Event()


def one(i):
    body = json.dumps({"data": {"event_type": "portout.status_changed", "id": f"{prefix}-{i}",
                                "occurred_at": "2026-03-05T12:30:45Z",
                                "payload": {"id": f"po-{i % 7}", "status": "ported"},
                                "record_type": "event"},
                       "meta": {"attempt": 1, "delivered_to": url}}).encode()
    ts = str(int(time.time()))
    sig = base64.b64encode(key.sign(ts.encode() + b"|" + body)).decode()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.connect()
    go.wait()
    t = time.monotonic()
    try:
        conn.request("POST", u.path, body, {"Content-Type": "application/json",
                                            "telnyx-timestamp": ts,
                                            "telnyx-signature-ed25519": sig})
        r = conn.getresponse()
        payload = json.loads(r.read() or b"{}")
        results[i] = {"code": r.status, "error": payload.get("error") or payload.get("status"),
                      "ms": round((time.monotonic() - t) * 1000, 1)}
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        results[i] = {"code": 0, "error": str(e), "ms": round((time.monotonic() - t) * 1000, 1)}


threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
time.sleep(0.3)  # every connection open, then all at once
go.set()
for t in threads:
    t.join()
print(json.dumps(results))
