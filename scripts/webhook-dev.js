#!/usr/bin/env node
// Development helper: signs Telnyx-style port-out webhooks with a development
// Ed25519 key (Node's crypto, i.e. OpenSSL: not the bridge's own code) and
// POSTs them, the way Telnyx does (docs/telnyx-api.md §5).
//
//   webhook-dev.js keygen DIR            writes DIR/dev-private.pem and DIR/dev-public.b64
//   webhook-dev.js post URL KEY.pem FILE...   posts every JSON line of the files
//       env WEBHOOK_TS_OFFSET=seconds shifts telnyx-timestamp (replay tests)
// Prints one line per request: HTTP status and response body.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { headers, privateKey, sign, timestamp } = require('./telnyx-sign.js');

function keygen(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const priv = path.join(dir, 'dev-private.pem');
  const pub = path.join(dir, 'dev-public.b64');
  if (!fs.existsSync(priv)) {
    const { privateKey: fresh } = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(priv, fresh.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  }
  const key = crypto.createPrivateKey(fs.readFileSync(priv));
  // SPKI DER of an Ed25519 key is a 12-byte prefix + the raw 32-byte key.
  const raw = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' }).subarray(12);
  fs.writeFileSync(pub, raw.toString('base64') + '\n');
  console.log(raw.toString('base64'));
}

async function post(url, keyFile, files) {
  const key = privateKey(fs.readFileSync(keyFile));
  let failed = 0;
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const res = await fetch(url, {
        method: 'POST', headers: headers(key, line, timestamp(process.env.WEBHOOK_TS_OFFSET)), body: line,
      });
      const text = await res.text();
      console.log(`${res.status} ${text}`);
      if (res.status !== 200) failed++;
    }
  }
  process.exit(failed ? 1 : 0);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'keygen' && args.length === 1) keygen(args[0]);
else if (cmd === 'post' && args.length >= 3) post(args[0], args[1], args.slice(2));
else if (cmd === 'sign' && args.length === 3) console.log(sign(fs.readFileSync(args[0]), fs.readFileSync(args[1]), args[2]));
else {
  console.error('usage: webhook-dev.js keygen DIR | post URL KEY.pem FILE... | sign KEY.pem BODYFILE TIMESTAMP');
  process.exit(64);
}
