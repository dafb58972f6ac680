// The fake Telnyx API's port-out resource, read by the official Node SDK
// (npm "telnyx"): client.portouts.retrieve and client.portouts.list (its own
// paging, its own encoding of filter[status_in]) must accept every answer,
// and give back exactly what the fake holds. Usage: node sdk-portouts.js
// (starts the fake itself; exit 0 on success).
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const assert = require('assert');
const Telnyx = require('telnyx').default;

async function main() {
  const fake = spawn('python3', [path.join(__dirname, '..', 'fake_telnyx', 'fake_telnyx.py'),
    '--port', '0', '--events', '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    fake.stdout.once('data', (d) => {
      const m = /listening on (\d+)/.exec(String(d));
      m ? resolve(Number(m[1])) : reject(new Error(`fake: ${d}`));
    });
    fake.once('exit', (c) => reject(new Error(`fake exited ${c}`)));
  });
  try {
    const admin = async (p) => (await fetch(`http://127.0.0.1:${port}${p}`)).json();
    const held = (await admin('/_admin/portouts')).portouts;
    assert.ok(held.length > 50, `the fake holds ${held.length} port-outs`);
    const client = new Telnyx({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${port}/v2`, maxRetries: 0 });

    // retrieve: every port-out, field for field
    for (const r of held.slice(0, 40)) {
      const got = await client.portouts.retrieve(r.id);
      assert.deepStrictEqual(got.data, r);
    }
    await assert.rejects(client.portouts.retrieve('00000000-0000-4000-8000-000000000000'),
      (e) => e.status === 404);

    // list: the SDK pages through all of them
    const all = [];
    for await (const p of client.portouts.list({ page: { size: 7 } })) all.push(p);
    assert.deepStrictEqual(all.map((p) => p.id).sort(), held.map((p) => p.id).sort());

    // list with filter[status_in]: the statuses asked for, all of them
    const want = ['pending', 'authorized'];
    const some = [];
    for await (const p of client.portouts.list({ filter: { status_in: want }, page: { size: 10 } })) some.push(p);
    const expect = held.filter((p) => want.includes(p.status)).map((p) => p.id).sort();
    assert.ok(expect.length > 0 && expect.length < held.length, 'the filter selects some, not all');
    assert.deepStrictEqual(some.map((p) => p.id).sort(), expect);
    const asked = decodeURIComponent((await admin('/_admin/stats')).last_portout_query);
    // filter[status]: exactly the ported ones, and there are some (a loop
    // over an empty list would check nothing)
    const ported = [];
    for await (const p of client.portouts.list({ filter: { status: 'ported' } })) ported.push(p);
    const heldPorted = held.filter((p) => p.status === 'ported').map((p) => p.id).sort();
    assert.ok(heldPorted.length > 0 && heldPorted.length < held.length, `the fake holds ${heldPorted.length} ported`);
    assert.ok(ported.every((p) => p.status === 'ported'), 'a port-out of another status in filter[status]=ported');
    assert.deepStrictEqual(ported.map((p) => p.id).sort(), heldPorted);
    // The desk's calls, as the SDK makes them: updateStatus and
    // comments.create; the fake must take exactly what the SDK sends, answer
    // as it types it, and refuse a status change on a port-out not pending
    // with 422 (code 10015).
    const post = async (p, b) => (await fetch(`http://127.0.0.1:${port}${p}`,
      { method: 'POST', body: JSON.stringify(b) })).json();
    const fresh = (await post('/_admin/portouts/create', { ages_s: [60, 60] })).data;
    const auth = await client.portouts.updateStatus('authorized', { id: fresh[0].id, reason: 'ok' });
    assert.strictEqual(auth.data.status, 'authorized');
    const rej = await client.portouts.updateStatus('rejected-pending', { id: fresh[1].id, reason: 'fraud' });
    assert.strictEqual(rej.data.status, 'rejected-pending');
    await assert.rejects(client.portouts.updateStatus('authorized', { id: fresh[1].id, reason: 'again' }),
      (e) => e.status === 422 && e.error.errors[0].code === '10015');
    const c = await client.portouts.comments.create(fresh[0].id, { body: 'hello ✓' });
    assert.strictEqual(c.data.body, 'hello ✓');
    const cl = await client.portouts.comments.list(fresh[0].id);
    assert.deepStrictEqual(cl.data.map((x) => x.body), ['hello ✓']);
    const calls = (await admin('/_admin/calls')).calls;
    assert.deepStrictEqual(calls.map((x) => [x.method, x.action, x.body]), [
      ['PATCH', 'authorized', { reason: 'ok' }], ['PATCH', 'rejected-pending', { reason: 'fraud' }],
      ['PATCH', 'authorized', { reason: 'again' }], ['POST', 'comments', { body: 'hello ✓' }]]);
    console.log('ok: updateStatus and comments.create through the SDK: the bodies the desk sends');
    const version = JSON.parse(require('fs').readFileSync(
      path.join(__dirname, 'node_modules', 'telnyx', 'package.json'))).version;
    console.log(`the SDK's query for status_in: ${asked}`);
    console.log(`ok: the Node SDK ${version} read ${held.length} port-outs ` +
      `(retrieve, list paged by 7, status_in ${want.join('+')}: ${some.length}, status ported: ${ported.length})`);
  } finally {
    fake.kill();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
