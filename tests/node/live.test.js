// SPDX-License-Identifier: Apache-2.0
'use strict';
// What Node.js processes record is what the daemon serves: 4 child processes ×
// 100,000 records of each type, read back through a running shmstatsd's /metrics
// (scraped live from the segment) and through statsctl get, exact in both.
const test = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('child_process');
const path = require('path');
const { PACKAGE, freshSegment, statsctlGet, exited, startDaemon, scrape } = require('./helpers');

const segment = freshSegment('live');
process.env.SHMSTATS_SEGMENT = segment;
const shmstats = require(PACKAGE);
const WORKER = path.join(__dirname, 'worker.js');

test('4 processes × 100,000 records: exact totals in /metrics and statsctl get', async (t) => {
  // The segment exists (this process creates it) before the daemon attaches to it;
  // the workers register their series after.
  new shmstats.Counter({ name: 'live_started_total', help: 'Test runs' }).inc();
  const daemon = await startDaemon(segment);
  t.after(daemon.stop);

  const procs = 4, n = 100000, total = procs * n;
  const children = Array.from({ length: procs }, () => fork(WORKER, ['hammer', String(n)]));
  for (const r of await Promise.all(children.map(exited))) assert.deepEqual(r, { code: 0, signal: null });

  const m = await scrape(daemon.port);
  const get = (k) => {
    assert.ok(m.has(k), `/metrics has no ${k}: ${[...m.keys()].join(', ')}`);
    return m.get(k);
  };
  assert.equal(get('live_started_total'), 1);
  assert.equal(get('workers_ops_total{kind="inc"}'), total);
  assert.equal(get('workers_level'), total * 0.5);
  // Values (i % 4) * 0.5: 0, 0.5, 1, 1.5 in turn.
  assert.equal(get('workers_seconds_bucket{kind="obs",le="0.5"}'), total / 2);
  assert.equal(get('workers_seconds_bucket{kind="obs",le="1.0"}'), total * 3 / 4);
  assert.equal(get('workers_seconds_bucket{kind="obs",le="2.0"}'), total);
  assert.equal(get('workers_seconds_bucket{kind="obs",le="+Inf"}'), total);
  assert.equal(get('workers_seconds_count{kind="obs"}'), total);
  assert.equal(get('workers_seconds_sum{kind="obs"}'), total * 0.75);

  const one = (name) => {
    const all = statsctlGet(segment, name);
    assert.equal(all.length, 1, JSON.stringify(all));
    return all[0];
  };
  assert.equal(one('workers_ops_total').value, total);
  assert.equal(one('workers_level').value, total * 0.5);
  const h = one('workers_seconds').histogram;
  assert.equal(h.count, total);
  assert.equal(h.sum, total * 0.75);
});
