#!/usr/bin/env python3
"""Signed webhooks over TLS with Python's ssl and http.client (not curl: a
second, independent TLS client), the test CA trusted, certificates verified.

  tls_client.py once HOST PORT CA KEY TLS_VERSION EVENT_ID
      one webhook over TLS 1.2 or 1.3 ("1.2", "1.3"); prints the status and
      the negotiated version
  tls_client.py loop HOST PORT CA KEY SECONDS STOP_FILE OUT
      webhooks in a loop for SECONDS (or until STOP_FILE exists): one
      keep-alive connection reused, and a new connection every 10th request
      (so handshakes happen throughout, across a reload); writes JSON to OUT:
      sent, answered 200, errors (with their text), connections, and the
      serial numbers of the certificates the server presented.
"""
import base64
import http.client
import json
import os
import socket
import ssl
import sys
import time

from cryptography.hazmat.primitives.serialization import load_pem_private_key


def body_for(eid):
    return json.dumps({"data": {"event_type": "portout.status_changed", "id": eid,
                                "occurred_at": "2026-03-05T12:30:45Z",
                                "payload": {"id": "5f0c2a1e-7b3d-4c8e-9a61-2d4e8f1b3c70",
                                            "status": "authorized"},
                                "record_type": "event"}, "meta": {"attempt": 1}},
                      separators=(",", ":")).encode()


def signed(key, body):
    ts = str(int(time.time()))
    sig = base64.b64encode(key.sign(ts.encode() + b"|" + body)).decode()
    return {"content-type": "application/json", "telnyx-timestamp": ts,
            "telnyx-signature-ed25519": sig}


def context(ca, version):
    ctx = ssl.create_default_context(cafile=ca)
    v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}.get(version)
    if v:
        ctx.minimum_version = ctx.maximum_version = v
    return ctx


def peer_serial(conn):
    cert = conn.sock.getpeercert()
    return cert.get("serialNumber")


mode, host, port, ca, keyfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
key = load_pem_private_key(open(keyfile, "rb").read(), None)
PATH = "/webhooks/telnyx/portouts"

if mode == "once":
    version, eid = sys.argv[6], sys.argv[7]
    c = http.client.HTTPSConnection(host, port, context=context(ca, version), timeout=10)
    b = body_for(eid)
    c.request("POST", PATH, body=b, headers=signed(key, b))
    r = c.getresponse()
    r.read()
    print(r.status, c.sock.version())
    sys.exit(0)

secs, stop, out = float(sys.argv[6]), sys.argv[7], sys.argv[8]
res = {"sent": 0, "ok": 0, "errors": [], "connections": 0, "serials": []}
ctx = context(ca, "any")
c, n, end = None, 0, time.time() + secs
while time.time() < end and not os.path.exists(stop):
    if c is None or n % 10 == 0:
        if c is not None:
            c.close()
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
        c.connect()
        res["connections"] += 1
        s = peer_serial(c)
        if not res["serials"] or res["serials"][-1] != s:
            res["serials"].append(s)
    n += 1
    b = body_for("ev-loop-%d-%d" % (os.getpid(), n))
    try:
        c.request("POST", PATH, body=b, headers=signed(key, b))
        r = c.getresponse()
        r.read()
        res["sent"] += 1
        if r.status == 200:
            res["ok"] += 1
        else:
            res["errors"].append("HTTP %d" % r.status)
    except (OSError, http.client.HTTPException) as e:
        res["sent"] += 1
        res["errors"].append(repr(e))
        c = None
    time.sleep(0.01)
json.dump(res, open(out, "w"))
