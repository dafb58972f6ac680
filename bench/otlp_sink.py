"""A fast OTLP/HTTP sink for the tracing benchmark: answers 200 to every
POST, counts the spans by their "spanId" keys (no parsing: the parse is
the test's, tests/integration/otlp_receiver.py). Prints its port, then on
SIGTERM the count.  otlp_sink.py PORT_FILE"""
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

spans = 0


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        global spans
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        spans += body.count(b'"spanId"')
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(srv.server_address[1]))
signal.signal(signal.SIGTERM, lambda *a: (print(spans, flush=True), sys.exit(0)))
srv.serve_forever()
