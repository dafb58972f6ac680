#!/usr/bin/env node
// The CloudEvents Kafka content modes, read as a Node consumer would: each
// record (kcat -J) through the official SDK's Kafka.toEvent, compared with
// the envelope `portout-bridge normalize` gives for the same input.
//   check-modes.js MODE EXPECTED.ndjson RECORDS.ndjson
'use strict';
const fs = require('fs');
const assert = require('assert');
const { Kafka } = require('cloudevents');

const [mode, expectFile, recordsFile] = process.argv.slice(2);
const lines = (f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const expected = new Map(lines(expectFile).map((e) => [e.id, e]));
const records = lines(recordsFile);
const headerMap = (arr) => { const h = {}; for (let i = 0; i + 1 < (arr || []).length; i += 2) h[arr[i]] = String(arr[i + 1]); return h; };
let n = 0;
for (const rec of records) {
  const headers = headerMap(rec.headers);
  const where = `${rec.topic}@${rec.offset}`;
  const ce = Kafka.toEvent({ key: rec.key, value: rec.payload, headers });
  const want = expected.get(ce.id);
  assert(want, `${where}: unexpected id ${ce.id}`);
  for (const a of ['id', 'type', 'source', 'subject', 'partitionkey', 'datacontenttype', 'ingestpath']) {
    assert.strictEqual(ce[a], want[a], `${where}: ${a}`);
  }
  // The SDK writes time back with milliseconds: the same instant.
  assert.strictEqual(Date.parse(ce.time), Date.parse(want.time), `${where}: time ${ce.time} vs ${want.time}`);
  assert.deepStrictEqual(typeof ce.data === 'string' ? JSON.parse(ce.data) : ce.data, want.data, `${where}: data`);
  assert.strictEqual(rec.key, want.partitionkey, `${where}: key`);
  const ceHeaders = Object.keys(headers).filter((h) => h.startsWith('ce_'));
  if (mode === 'binary') {
    assert.strictEqual(headers['content-type'], 'application/json', `${where}: content-type`);
    assert.deepStrictEqual(JSON.parse(rec.payload), want.data, `${where}: the value is the data`);
  } else {
    assert.strictEqual(headers['content-type'], 'application/cloudevents+json; charset=UTF-8', `${where}: content-type`);
    assert.strictEqual(JSON.parse(rec.payload).id, want.id, `${where}: the value is the envelope`);
    assert.strictEqual(ceHeaders.length > 0, mode === 'structured', `${where}: ce_ headers: ${ceHeaders}`);
  }
  n++;
}
assert.strictEqual(n, expected.size, `${n} records for ${expected.size} events`);
console.log(`check-modes ${mode}: ${n} records read by the cloudevents SDK (Kafka.toEvent) as the envelopes`);
