#!/usr/bin/env python3
"""A small OAuth 2.0 token endpoint and JWKS for the OAUTHBEARER tests.

librdkafka (sasl.oauthbearer.method=oidc) asks POST /token with
grant_type=client_credentials and HTTP Basic client credentials; the broker
(OAuthBearerValidatorCallbackHandler) checks the JWT's RS256 signature against
GET /jwks, its exp and its audience. The subject is the client id, so the
Kafka principal is User:<client id>. Prints "listening on PORT".
  oidc_issuer.py --clients bridge:SECRET[,other:SECRET] [--audience kafka] [--ttl 3600]
"""
import argparse
import base64
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint_b64(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


ap = argparse.ArgumentParser()
ap.add_argument("--clients", required=True)
ap.add_argument("--audience", default="kafka")
ap.add_argument("--ttl", type=int, default=3600)
args = ap.parse_args()
CLIENTS = dict(c.split(":", 1) for c in args.clients.split(","))
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KID = "pb-test-1"
PUB = KEY.public_key().public_numbers()
JWKS = json.dumps({"keys": [{"kty": "RSA", "kid": KID, "alg": "RS256", "use": "sig",
                             "n": uint_b64(PUB.n), "e": uint_b64(PUB.e)}]}).encode()
ISSUED = {"tokens": 0, "refused": 0}


def token(sub, scope):
    now = int(time.time())
    head = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}).encode())
    body = b64url(json.dumps({"sub": sub, "aud": args.audience, "iss": "pb-test-issuer",
                              "iat": now, "nbf": now, "exp": now + args.ttl,
                              "scope": scope}).encode())
    sig = KEY.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(sig)}"


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/jwks":
            return self.reply(200, JWKS)
        if self.path == "/_stats":
            return self.reply(200, json.dumps(ISSUED).encode())
        self.reply(404, b'{"error":"not_found"}')

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        form = parse_qs(self.rfile.read(n).decode())
        cid = secret = None
        auth = self.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        cid = cid or (form.get("client_id") or [None])[0]
        secret = secret or (form.get("client_secret") or [None])[0]
        if self.path != "/token" or (form.get("grant_type") or [""])[0] != "client_credentials":
            return self.reply(400, b'{"error":"unsupported_grant_type"}')
        if CLIENTS.get(cid) != secret:
            ISSUED["refused"] += 1
            return self.reply(401, b'{"error":"invalid_client"}')
        ISSUED["tokens"] += 1
        scope = (form.get("scope") or ["kafka"])[0]
        self.reply(200, json.dumps({"access_token": token(cid, scope), "token_type": "Bearer",
                                    "expires_in": args.ttl}).encode())


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"listening on {srv.server_address[1]}", flush=True)
srv.serve_forever()
