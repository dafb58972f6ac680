#!/usr/bin/env python3
"""Raw HTTP/1.1 framing attacks on a listener (RFC 9112 §6.1, §6.3): each
case is sent as bytes over its own socket, and what comes back is read until
the server closes (or a 3 s silence). Every case must get exactly one answer,
a 400 with a JSON error body, and the connection closed: nothing after the
ambiguous request may be served as a request of its own.

  framing.py HOST PORT PATH

Prints one JSON line per case: name, the status lines received, whether the
connection was closed, and the bodies. Exit 1 if any case fails.
"""
import json
import re
import socket
import sys
import time

host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BODY = b'{"x":1}'
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def req(headers, body=b""):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".encode() + b"".join(h + b"\r\n" for h in headers)
    return head + b"\r\n" + body


CHUNKED = b"7\r\n" + BODY + b"\r\n0\r\n\r\n"
CASES = {
    "content-length and chunked": req([b"Content-Length: 7", b"Transfer-Encoding: chunked"], CHUNKED + SMUGGLED),
    "chunked and content-length": req([b"Transfer-Encoding: chunked", b"Content-Length: 40"], CHUNKED + SMUGGLED),
    "two content-lengths": req([b"Content-Length: 7", b"Content-Length: 45"], BODY + SMUGGLED),
    "two equal content-lengths": req([b"Content-Length: 7", b"Content-Length: 7"], BODY + SMUGGLED),
    "content-length list": req([b"Content-Length: 7, 7"], BODY + SMUGGLED),
    "space before the colon": req([b"Transfer-Encoding : chunked", b"Content-Length: 7"], BODY + SMUGGLED),
    "tab in the name": req([b"Content-Length\t: 7"], BODY + SMUGGLED),
    "chunked, identity": req([b"Transfer-Encoding: chunked, identity"], CHUNKED + SMUGGLED),
    "gzip, chunked": req([b"Transfer-Encoding: gzip, chunked"], CHUNKED + SMUGGLED),
    "identity": req([b"Transfer-Encoding: identity", b"Content-Length: 7"], BODY + SMUGGLED),
    "two transfer-encodings": req([b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"], CHUNKED + SMUGGLED),
    "negative content-length": req([b"Content-Length: -7"], BODY + SMUGGLED),
    "content-length with a sign": req([b"Content-Length: +7"], BODY + SMUGGLED),
    "obsolete line folding": req([b"Content-Length: 7", b" 45"], BODY + SMUGGLED),
    "bare CR in a value": req([b"X-A: x\rContent-Length: 45", b"Content-Length: 7"], BODY + SMUGGLED),
    "control character in a value": req([b"X-A: a\x01b", b"Content-Length: 7"], BODY + SMUGGLED),
}


def run(name, data):
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(data)
    got, closed = b"", False
    t_end = time.monotonic() + 6
    while time.monotonic() < t_end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not b:
            closed = True
            break
        got += b
    s.close()
    statuses = [m.decode(errors="replace") for m in re.findall(rb"HTTP/1\.[01] \d{3} [^\r]*", got)]
    bodies = []
    for part in got.split(b"\r\n\r\n")[1:]:
        if part.startswith(b"{"):
            bodies.append(part.split(b"HTTP/1.")[0].decode(errors="replace"))
    return {"case": name, "statuses": statuses, "closed": closed, "bodies": bodies,
            "raw": got[:600].decode(errors="replace")}


# Values libmicrohttpd 0.9.75 refuses itself, before the bridge sees the
# request: its 400 has an HTML body (and its header block twice), but it
# answers once and closes, which is what keeps the framing safe.
MHD_OWN = {"content-length list", "negative content-length", "content-length with a sign"}

bad = 0
for name, data in CASES.items():
    r = run(name, data)
    if name in MHD_OWN:
        ok = r["statuses"] and set(r["statuses"]) == {"HTTP/1.1 400 Bad Request"} and \
            r["closed"] and not r["bodies"]
    else:
        ok = r["statuses"] == ["HTTP/1.1 400 Bad Request"] and r["closed"] and \
            len(r["bodies"]) == 1 and json.loads(r["bodies"][0]).get("error") == "bad_request"
    r["ok"] = bool(ok)
    bad += not ok
    print(json.dumps(r))
sys.exit(1 if bad else 0)
