#!/usr/bin/env node
// Verifies, with Node's crypto (OpenSSL), Telnyx-style signatures that the C
// side made with libsodium (tests/unit/test_http_verify.c writes them): interop in
// the direction "signed by us, verified by an implementation we did not write".
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean);
let ok = 0, bad = 0;
for (const l of lines) {
  const v = JSON.parse(l);
  const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(v.public_key, 'base64')]);
  const key = crypto.createPublicKey({ key: spki, format: 'der', type: 'spki' });
  const msg = Buffer.concat([Buffer.from(v.timestamp + '|'), Buffer.from(v.body_hex, 'hex')]);
  const sig = Buffer.from(v.signature, 'base64');
  const good = crypto.verify(null, msg, key, sig);
  const tampered = Buffer.from(msg); tampered[tampered.length - 2] ^= 1;
  if (good && !crypto.verify(null, tampered, key, sig)) ok++; else { bad++; console.error('FAIL', l); }
}
if (lines.length === 0) { console.error('no vectors'); process.exit(1); }
console.log(`${ok} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
