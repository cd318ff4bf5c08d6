// SPDX-License-Identifier: Apache-2.0
'use strict';
// A worker process of workers.test.js (child_process.fork or cluster), recording
// into $SHMSTATS_SEGMENT. argv[2]: "hammer" (100,000 of each record, then exit) or
// "scoped" (process-scoped series, then wait for "stop").
const { PACKAGE } = require('./helpers');
const { Counter, Gauge, Histogram, exponential } = require(PACKAGE);

const mode = process.argv[2];
if (mode === 'hammer') {
  const n = Number(process.argv[3]);
  const c = new Counter({ name: 'workers_ops_total', help: 'Ops', labelNames: ['kind'] }).labels('inc');
  const g = new Gauge({ name: 'workers_level', help: 'Level' });
  const h = new Histogram({ name: 'workers_seconds', help: 'Durations', labelNames: ['kind'],
                            buckets: [0.5, 1, 2] }).labels('obs');
  const hx = new Histogram({ name: 'workers_exp_seconds', help: 'Durations', buckets: exponential() });
  for (let i = 0; i < n; ++i) {
    c.inc();
    g.inc(0.5);
    h.observe((i % 4) * 0.5);
    hx.observe((i % 4) * 0.5);
  }
  process.send('done', () => process.exit(0));
} else if (mode === 'scoped') {
  new Counter({ name: 'workers_jobs_total', help: 'Jobs', scope: 'process' }).inc(1000);
  new Gauge({ name: 'workers_busy', help: 'Busy', scope: 'process' }).set(1);
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
  });
  process.send('ready');
} else {
  throw new Error(`unknown mode ${mode}`);
}
