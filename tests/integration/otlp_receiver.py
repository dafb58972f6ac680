"""A stand-in OpenTelemetry collector for the tests: OTLP/HTTP with JSON
encoding on POST /v1/traces. Each request body is parsed as an
ExportTraceServiceRequest with the official definitions (opentelemetry-proto,
protobuf's JSON parser, unknown fields refused), after the one mapping
OTLP/JSON makes differently from protobuf's: trace and span ids are hex, not
base64 (OTLP specification, "JSON Protobuf Encoding"). A body that does not
parse is answered 400 and recorded as {"error": ...}.

Writes one JSON line per span to OUT, and its port to PORT_FILE.
  otlp_receiver.py PORT_FILE OUT            answers 200
  otlp_receiver.py PORT_FILE OUT blackhole  takes connections, never answers
"""
import base64
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

port_file, out_path = sys.argv[1], sys.argv[2]
blackhole = len(sys.argv) > 3 and sys.argv[3] == "blackhole"
lock = threading.Lock()


def record(obj):
    with lock, open(out_path, "a") as f:
        f.write(json.dumps(obj) + "\n")


def hex_to_b64(doc):
    for rs in doc.get("resourceSpans", []):
        for ss in rs.get("scopeSpans", []):
            for sp in ss.get("spans", []):
                for k in ("traceId", "spanId", "parentSpanId"):
                    if k in sp:
                        sp[k] = base64.b64encode(bytes.fromhex(sp[k])).decode()
    return doc


def value(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            assert self.path == "/v1/traces", self.path
            assert self.headers.get("content-type", "").startswith("application/json")
            req = ExportTraceServiceRequest()
            json_format.Parse(json.dumps(hex_to_b64(json.loads(body))), req)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            record({"error": repr(e), "body": body[:300].decode("utf-8", "replace")})
            self.send_response(400)
            self.end_headers()
            return
        for rs in req.resource_spans:
            res = {a.key: value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for sp in ss.spans:
                    record({"trace_id": sp.trace_id.hex(), "span_id": sp.span_id.hex(),
                            "parent_span_id": sp.parent_span_id.hex(), "name": sp.name,
                            "kind": sp.kind, "status": sp.status.code,
                            "start": sp.start_time_unix_nano, "end": sp.end_time_unix_nano,
                            "attributes": {a.key: value(a.value) for a in sp.attributes},
                            "service": res.get("service.name"),
                            "auth": self.headers.get("authorization")})
        out = b"{}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


if blackhole:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    open(port_file, "w").write(str(s.getsockname()[1]))
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)  # read nothing, answer nothing
else:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    open(port_file, "w").write(str(srv.server_address[1]))
    srv.serve_forever()
