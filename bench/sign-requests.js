#!/usr/bin/env node
// Writes COUNT distinct signed webhook requests ("ts<TAB>sig<TAB>body" lines)
// for bench/wrk-webhook.lua.   sign-requests.js KEY.pem COUNT PREFIX > FILE
'use strict';
const fs = require('fs');
const { privateKey, sign, timestamp } = require('../scripts/telnyx-sign.js');
const [keyFile, countS, prefix] = process.argv.slice(2);
const key = privateKey(fs.readFileSync(keyFile));
const ts = timestamp();
const out = [];
for (let i = 0; i < Number(countS); i++) {
  const body = JSON.stringify({ data: { event_type: 'portout.status_changed', id: `${prefix}-${i}`,
    occurred_at: '2026-03-05T12:30:45Z', payload: { id: `portout-${i % 1000}`, status: 'authorized',
    phone_numbers: ['+15550100123'], carrier_name: 'Example Wireless', spid: '123A', subscriber_name: null },
    record_type: 'event' }, meta: { attempt: 1, delivered_to: 'https://hooks.example.org/telnyx/portout' } });
  out.push(ts + '\t' + sign(key, body, ts) + '\t' + body);
}
process.stdout.write(out.join('\n') + '\n');
