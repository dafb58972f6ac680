// Telnyx's webhook signature, made the way Telnyx makes it (docs/telnyx-api.md
// §5): Ed25519 over "<telnyx-timestamp>|<raw body>", base64, with Node's
// crypto (OpenSSL: not the bridge's own code). The one signer of the
// development helper (scripts/webhook-dev.js), the benchmarks
// (bench/sign-requests.js) and the tests' HTTP clients (tests/js).
'use strict';
const crypto = require('crypto');

// A private key from PEM bytes, a file's contents, or a KeyObject.
function privateKey(key) {
  return key instanceof crypto.KeyObject ? key : crypto.createPrivateKey(key);
}

// The telnyx-timestamp of now (Unix seconds as text), shifted by offset seconds.
function timestamp(offset = 0) {
  return String(Math.floor(Date.now() / 1000) + Number(offset || 0));
}

// The telnyx-signature-ed25519 of body (a string or a Buffer) at ts.
function sign(key, body, ts) {
  const msg = Buffer.concat([Buffer.from(ts + '|'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);
  return crypto.sign(null, msg, privateKey(key)).toString('base64');
}

// The request headers of a signed JSON webhook.
function headers(key, body, ts = timestamp()) {
  return { 'content-type': 'application/json', 'telnyx-timestamp': ts,
           'telnyx-signature-ed25519': sign(key, body, ts) };
}

module.exports = { privateKey, timestamp, sign, headers };
