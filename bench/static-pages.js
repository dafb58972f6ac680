#!/usr/bin/env node
// A static-file stand-in for the Telnyx list endpoint, for bench/backfill.sh:
// serves DIR/N.json for GET .../portouts/events?...page[number]=N, so a
// backfill benchmark measures the client, not the fake API's Python.
//   static-pages.js DIR PORT
'use strict';
const fs = require('fs');
const http = require('http');
const [dir, port] = process.argv.slice(2);
const pages = new Map();
for (const f of fs.readdirSync(dir)) {
  const m = /^(\d+)\.json$/.exec(f);
  if (m) pages.set(m[1], fs.readFileSync(`${dir}/${f}`));
}
http.createServer((req, res) => {
  const m = /[?&]page%5Bnumber%5D=(\d+)|[?&]page\[number\]=(\d+)/.exec(req.url);
  const body = m && pages.get(m[1] || m[2]);
  if (!body) { res.writeHead(404, { 'Content-Type': 'application/json' }); return res.end('{"errors":[{"detail":"no such page"}]}'); }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.end(body);
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on ${port}`));
