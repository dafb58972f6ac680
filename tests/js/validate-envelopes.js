#!/usr/bin/env node
// Validates every envelope (one JSON document per line) of the given files
// against docs/envelope.schema.json. Fails on an empty input: a check that
// saw nothing has checked nothing.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const schemaPath = path.join(__dirname, '..', '..', 'docs', 'envelope.schema.json');
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, 'utf8')));

let n = 0, bad = 0;
for (const file of process.argv.slice(2)) {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  lines.forEach((line, i) => {
    n++;
    const env = JSON.parse(line);
    if (!validate(env)) {
      bad++;
      console.error(`${file}:${i + 1}: ${ajv.errorsText(validate.errors)}\n  ${line.slice(0, 200)}`);
    }
  });
}
if (n === 0) {
  console.error('validate-envelopes: no envelopes to check');
  process.exit(1);
}
console.log(`${n - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
