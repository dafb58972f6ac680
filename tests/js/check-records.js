#!/usr/bin/env node
// Checks Kafka records consumed by kcat (-J, one JSON object per line) the way
// a downstream consumer would: every record is parsed with the official
// CloudEvents SDK's Kafka binding (Kafka.toEvent), its value is validated
// against the envelope schema, and the set of records must equal the expected
// set exactly (nothing missing, nothing else, no duplicates).
//
//   check-records.js EXPECT.json RECORDS.ndjson
// EXPECT.json: {"records": [{"topic","key","id","type","ingestpath"?}],
//               "dead_letters": [{"topic","error_contains","value"}]}
'use strict';
const fs = require('fs');
const path = require('path');
const { Kafka } = require('cloudevents');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'envelope.schema.json'), 'utf8'));
const validate = ajv.compile(schema);

const [expectFile, recordsFile] = process.argv.slice(2);
const expect = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const records = fs.readFileSync(recordsFile, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));

const failures = [];
const fail = (msg) => failures.push(msg);

function headerMap(arr) {
  // kcat -J gives headers as a flat [name, value, name, value, ...] array.
  const h = {};
  for (let i = 0; i + 1 < (arr || []).length; i += 2) h[arr[i]] = String(arr[i + 1]);
  return h;
}

const wantRecords = expect.records.map((r) => ({ ...r, seen: 0 }));
const wantDlq = (expect.dead_letters || []).map((r) => ({ ...r, seen: 0 }));
let checked = 0;

for (const rec of records) {
  const headers = headerMap(rec.headers);
  const where = `${rec.topic}/${rec.partition}@${rec.offset}`;
  if (headers['pb_stage']) {
    const m = wantDlq.find((d) => d.topic === rec.topic && !d.seen && rec.payload === d.value &&
      (headers['pb_error'] || '').includes(d.error_contains));
    if (!m) fail(`${where}: unexpected dead-letter record: error=${headers['pb_error']} value=${rec.payload}`);
    else m.seen++;
    for (const h of ['pb_error', 'pb_ingestpath', 'pb_receivedat']) if (!headers[h]) fail(`${where}: dead-letter lacks header ${h}`);
    checked++;
    continue;
  }
  // Exactly what a consumer using the SDK does.
  let ce;
  try {
    ce = Kafka.toEvent({ key: rec.key, value: rec.payload, headers, timestamp: rec.ts });
  } catch (e) {
    fail(`${where}: Kafka.toEvent failed: ${e.message}`);
    continue;
  }
  if (!Kafka.isEvent({ key: rec.key, value: rec.payload, headers })) fail(`${where}: Kafka.isEvent is false`);
  const env = JSON.parse(rec.payload);
  if (!validate(env)) fail(`${where}: schema: ${ajv.errorsText(validate.errors)}`);
  if (headers['content-type'] !== 'application/cloudevents+json; charset=UTF-8') fail(`${where}: content-type ${headers['content-type']}`);
  for (const [h, attr] of [['ce_id', 'id'], ['ce_type', 'type'], ['ce_source', 'source'], ['ce_subject', 'subject'], ['ce_time', 'time']]) {
    if (headers[h] !== env[attr]) fail(`${where}: header ${h}=${headers[h]} but envelope ${attr}=${env[attr]}`);
  }
  if (ce.id !== env.id || ce.type !== env.type || ce.subject !== env.subject || ce.source !== env.source) fail(`${where}: SDK event differs from envelope`);
  if (ce.partitionkey !== rec.key || env.partitionkey !== rec.key || env.data.portout_id !== rec.key) fail(`${where}: key ${rec.key} vs partitionkey ${ce.partitionkey}/${env.partitionkey}`);
  if (!ce.time) fail(`${where}: SDK event has no time`);
  const m = wantRecords.find((w) => !w.seen && w.topic === rec.topic && w.key === rec.key && w.id === env.id && w.type === env.type &&
    (!w.ingestpath || w.ingestpath === env.ingestpath));
  if (!m) fail(`${where}: unexpected record id=${env.id} type=${env.type} key=${rec.key}`);
  else m.seen++;
  checked++;
}
for (const w of wantRecords) if (!w.seen) fail(`missing record: ${JSON.stringify(w)}`);
for (const d of wantDlq) if (!d.seen) fail(`missing dead-letter record: ${JSON.stringify(d)}`);
if (checked === 0) fail('no records consumed');
for (const f of failures) console.error('FAIL ' + f);
console.log(`check-records: ${records.length} records, ${checked - failures.length < 0 ? 0 : checked} checked, ${failures.length} problem(s)`);
process.exit(failures.length ? 1 : 0);
