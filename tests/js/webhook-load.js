#!/usr/bin/env node
// Real HTTP clients for the webhook tests: N concurrent clients (one keep-alive
// connection each) post COUNT distinct, freshly signed port-out webhooks.
//   webhook-load.js URL KEY.pem COUNT CONCURRENCY ID_PREFIX [EVENT_TYPE]
// Prints "status: count" lines and the ids' latency percentiles; exits 0 only
// if every response was 200.
'use strict';
const fs = require('fs');
const http = require('http');
const { headers, privateKey } = require('../../scripts/telnyx-sign.js');

const [url, keyFile, countS, concS, prefix, type = 'portout.status_changed'] = process.argv.slice(2);
const key = privateKey(fs.readFileSync(keyFile));
const count = Number(countS), conc = Number(concS);
const u = new URL(url);

function body(i) {
  return JSON.stringify({
    data: { event_type: type, id: `${prefix}-${i}`, occurred_at: '2026-03-05T12:30:45Z',
            payload: { id: `portout-${i % 37}`, portout_id: `portout-${i % 37}`, status: 'authorized', comment: 'c' },
            record_type: 'event' },
    meta: { attempt: 1, delivered_to: url },
  });
}

function post(agent, i) {
  return new Promise((resolve) => {
    const b = body(i);
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { ...headers(key, b), 'content-length': Buffer.byteLength(b) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', (e) => resolve({ status: 'error:' + e.code, ms: 0 }));
    req.end(b);
  });
}

(async () => {
  let next = 0;
  const statuses = {}, lat = [];
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (next < count) {
      const i = next++;
      const r = await post(agent, i);
      statuses[r.status] = (statuses[r.status] || 0) + 1;
      lat.push(r.ms);
    }
    agent.destroy();
  }));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1);
  for (const [s, n] of Object.entries(statuses)) console.log(`${s}: ${n}`);
  console.log(`requests/s: ${(count / secs).toFixed(0)}  latency ms p50 ${p(0.5)} p99 ${p(0.99)} max ${lat[lat.length - 1].toFixed(1)}`);
  process.exit(Object.keys(statuses).length === 1 && statuses[200] === count ? 0 : 1);
})();
