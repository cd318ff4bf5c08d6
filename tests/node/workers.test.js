// SPDX-License-Identifier: Apache-2.0
'use strict';
// Many Node.js processes record into one segment: 8 child processes × 100,000 records
// of each type give exact totals through statsctl get; cluster workers' process-scoped
// series are summed while they live and folded (counters) or dropped (gauges) after.
const test = require('node:test');
const assert = require('node:assert/strict');
const { fork } = require('child_process');
const cluster = require('cluster');
const path = require('path');
const { PACKAGE, freshSegment, statsctlGet, exited } = require('./helpers');

const segment = freshSegment('workers');
process.env.SHMSTATS_SEGMENT = segment;
const shmstats = require(PACKAGE);
const WORKER = path.join(__dirname, 'worker.js');

function one(name) {
  const all = statsctlGet(segment, name);
  assert.equal(all.length, 1, JSON.stringify(all));
  return all[0];
}

test('8 processes × 100,000 records: exact totals in statsctl get', async () => {
  const procs = 8, n = 100000;
  const children = Array.from({ length: procs }, () => fork(WORKER, ['hammer', String(n)]));
  const results = await Promise.all(children.map(exited));
  for (const r of results) assert.deepEqual(r, { code: 0, signal: null });
  assert.equal(one('workers_ops_total').value, procs * n);
  assert.equal(one('workers_level').value, procs * n * 0.5);
  const h = one('workers_seconds').histogram;
  assert.equal(h.count, procs * n);
  assert.equal(h.sum, procs * (n / 4) * (0 + 0.5 + 1 + 1.5));
  // Values 0, 0.5, 1, 1.5 in turn, two of them on a bound: cumulative counts.
  assert.deepEqual(h.buckets, [{ le: 0.5, count: procs * n / 2 }, { le: 1, count: procs * n * 3 / 4 },
                               { le: 2, count: procs * n }, { le: '+Inf', count: procs * n }]);
  const x = one('workers_exp_seconds').histogram;
  assert.equal(x.count, procs * n);
  assert.equal(x.sum, procs * (n / 4) * (0 + 0.5 + 1 + 1.5));
});

test('cluster workers: process-scoped series summed while alive, folded after', async () => {
  cluster.setupPrimary({ exec: WORKER, args: ['scoped'], silent: false });
  const workers = Array.from({ length: 8 }, () => cluster.fork());
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  assert.equal(one('workers_jobs_total').value, 8000);
  assert.equal(one('workers_busy').value, 8);
  const gone = workers.map((w) => exited(w.process));
  for (const w of workers) w.send('stop');
  for (const r of await Promise.all(gone)) assert.deepEqual(r, { code: 0, signal: null });
  assert.equal(one('workers_busy').value, 0);        // a dead worker's gauge: gone at once
  assert.equal(one('workers_jobs_total').value, 8000); // its counter: still counted
  assert.equal(shmstats.retireExited(), 16);
  assert.equal(one('workers_jobs_total').value, 8000); // folded into the shared series
  assert.equal(shmstats.retireExited(), 0);
});
