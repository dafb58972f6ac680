#!/usr/bin/env node
// The bridge's webhook signature check against the official Telnyx Node SDK
// (telnyx 7.x, client.webhooks.unwrap), on requests signed here with Node's
// crypto (OpenSSL): keys, signatures and verdicts all from code we did not
// write. Each case goes to the SDK and to tests/tools/verify_vectors (the
// bridge's own pb_verify_headers + pb_verify_message). They must agree on
// every case, and each case's verdict must be the one named here, so that
// both accepting everything (or refusing everything) fails.
//
//   node ed25519-sdk.js PATH/TO/verify_vectors
'use strict';
const crypto = require('crypto');
const { execFileSync } = require('child_process');
const TelnyxModule = require('telnyx');
const Telnyx = TelnyxModule.default || TelnyxModule;

const tool = process.argv[2];
if (!tool) { console.error('usage: ed25519-sdk.js VERIFY_VECTORS'); process.exit(2); }

function keypair() {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12); // the 32 raw bytes
  return { pub: raw.toString('base64'), priv: privateKey };
}
const sign = (k, ts, body) => crypto.sign(null, Buffer.concat([Buffer.from(ts + '|'), body]), k.priv).toString('base64');

const now = Math.floor(Date.now() / 1000);
const cases = [];
// add(name, want, key, ts, sig, body): want is true when a request must pass.
const add = (name, want, key, ts, sig, body) => cases.push({ name, want, key, ts, sig, body });
for (let i = 0; i < 8; i++) {
  const k = keypair(), other = keypair();
  const ts = String(now - i);
  const body = Buffer.from(JSON.stringify({ data: { event_type: 'portout.status_changed', id: `ev-${i}`,
    payload: { id: `po-${i}`, status: 'ported', comment: `Überprüfung ${i} ✓` } } }));
  const sig = sign(k, ts, body);
  add(`valid ${i}`, true, k.pub, ts, sig, body);
  const bent = Buffer.from(body); bent[bent.length - 3] ^= 1;
  add(`body changed ${i}`, false, k.pub, ts, sig, bent);
  add(`body cut ${i}`, false, k.pub, ts, sig, body.subarray(0, body.length - 1));
  add(`timestamp changed ${i}`, false, k.pub, String(now - i - 1), sig, body);
  add(`another key ${i}`, false, other.pub, ts, sig, body);
  const raw = Buffer.from(sig, 'base64');
  const flipped = Buffer.from(raw); flipped[i] ^= 0x40;
  add(`signature bit flipped ${i}`, false, k.pub, ts, flipped.toString('base64'), body);
  add(`signature unpadded ${i}`, false, k.pub, ts, sig.replace(/=+$/, ''), body);
  add(`signature 63 bytes ${i}`, false, k.pub, ts, raw.subarray(0, 63).toString('base64'), body);
  add(`signature 65 bytes ${i}`, false, k.pub, ts, Buffer.concat([raw, Buffer.from([0])]).toString('base64'), body);
  if (/[+/]/.test(sig)) add(`signature base64url ${i}`, false, k.pub, ts, sig.replace(/\+/g, '-').replace(/\//g, '_'), body);
}
const k = keypair();
const body = Buffer.from('{"data":{"id":"w","event_type":"portout.new_comment"}}');
for (const [name, want, off] of [['290 s old', true, -290], ['310 s old', false, -310],
  ['290 s ahead', true, 290], ['310 s ahead', false, 310]]) {
  const ts = String(now + off);
  add(name, want, k.pub, ts, sign(k, ts, body), body);
}
add('empty body', true, k.pub, String(now), sign(k, String(now), Buffer.alloc(0)), Buffer.alloc(0));
for (const ts of ['-' + now, '+' + now, now + '.5', '1e9', String(now) + 'x', '']) {
  add(`timestamp "${ts}"`, false, k.pub, ts || '-', sign(k, ts, body), body);
}
add('no signature', false, k.pub, String(now), '-', body);
add('no timestamp', false, k.pub, '-', sign(k, String(now), body), body);

async function sdkVerdict(c) {
  const client = new Telnyx({ apiKey: 'unused', publicKey: c.key });
  const headers = {};
  if (c.ts !== '-') headers['telnyx-timestamp'] = c.ts;
  if (c.sig !== '-') headers['telnyx-signature-ed25519'] = c.sig;
  try {
    await client.webhooks.unwrap(c.body.toString('utf8'), { headers });
    return true;
  } catch (e) {
    if (e.name !== 'TelnyxWebhookVerificationError' && !(e instanceof SyntaxError)) throw e;
    // A verified body that is not JSON (the empty one) fails after the
    // signature passed: the SDK's parse, not its verdict.
    return e instanceof SyntaxError;
  }
}

(async () => {
  const input = cases.map((c) => [c.key, c.ts, c.sig, c.body.length ? c.body.toString('hex') : '-', now].join('\t')).join('\n') + '\n';
  const bridge = execFileSync(tool, { input }).toString().trim().split('\n');
  if (bridge.length !== cases.length) { console.error(`${bridge.length} verdicts for ${cases.length} cases`); process.exit(1); }
  let bad = 0, accepted = 0, refused = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i], sdk = await sdkVerdict(c), ours = bridge[i] === 'ok';
    if (sdk !== c.want || ours !== c.want) {
      bad++;
      console.error(`FAIL ${c.name}: want ${c.want ? 'accepted' : 'refused'}, SDK ${sdk ? 'accepted' : 'refused'}, bridge ${bridge[i]}`);
    } else if (ours) accepted++;
    else refused++;
  }
  console.log(`${cases.length} cases: ${accepted} accepted and ${refused} refused by both, as they must be; ${bad} not`);
  process.exit(bad ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(1); });
