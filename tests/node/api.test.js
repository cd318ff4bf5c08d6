// SPDX-License-Identifier: Apache-2.0
'use strict';
// The package's API, prom-client's shape: every metric type, labels by position and
// by name, timers, withMetrics on sync and async functions that succeed and fail,
// set-up errors, and what statsctl reads back.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('child_process');
const { PACKAGE, freshSegment, statsctlGet } = require('./helpers');

const segment = freshSegment('api');
process.env.SHMSTATS_SEGMENT = segment;
const shmstats = require(PACKAGE);
const { Counter, Gauge, Histogram, Summary, withMetrics, exponential } = shmstats;

function one(name, labels = {}) {
  const all = statsctlGet(segment, name).filter(
      (m) => JSON.stringify(m.labels) === JSON.stringify(labels));
  assert.equal(all.length, 1, `${name} ${JSON.stringify(labels)}: ${JSON.stringify(all)}`);
  return all[0];
}

test('counter: inc, inc(n), labels by position and by name, fractions', () => {
  const c = new Counter({ name: 'api_requests_total', help: 'Requests', labelNames: ['method', 'code'] });
  c.labels('GET', '200').inc();
  c.labels({ code: 200, method: 'GET' }).inc(4);
  c.inc({ method: 'POST', code: '500' });
  c.inc({ method: 'POST', code: '500' }, 2);
  const frac = c.labels('PUT', '201');
  for (let i = 0; i < 10; ++i) frac.inc(0.25);
  assert.equal(one('api_requests_total', { code: '200', method: 'GET' }).value, 5);
  assert.equal(one('api_requests_total', { code: '500', method: 'POST' }).value, 3);
  // 2.5 in this process: 2 whole units in the segment, 0.5 carried here.
  assert.equal(one('api_requests_total', { code: '201', method: 'PUT' }).value, 2);
  assert.equal(one('api_requests_total', { code: '200', method: 'GET' }).help, 'Requests');
});

test('counter: big integers are exact past 2^53', async () => {
  const c = new Counter({ name: 'api_big_total', help: 'Big' });
  c.inc(2 ** 53);
  c.inc(1);
  c.inc(1);
  assert.equal(BigInt(one('api_big_total').value), 2n ** 53n + 2n);
  // A carry from the low 32 bits into the high ones.
  const w = new Counter({ name: 'api_carry_total', help: 'Carry' });
  w.inc(2 ** 32 - 1);
  assert.equal(one('api_carry_total').value, 2 ** 32 - 1);
  w.inc();
  w.inc(2 ** 32 + 5);
  assert.equal(one('api_carry_total').value, 2 ** 33 + 5);
});

test('recording never throws: bad amounts are ignored', () => {
  const c = new Counter({ name: 'api_ignored_total', help: 'x' });
  const g = new Gauge({ name: 'api_ignored_gauge', help: 'x' });
  const h = new Histogram({ name: 'api_ignored_seconds', help: 'x', buckets: [1] });
  c.inc(-1);
  c.inc(NaN);
  c.inc(Infinity);
  h.observe(NaN);
  h.observe('not a number');
  g.set(1);
  assert.equal(one('api_ignored_total').value, 0);
  assert.equal(one('api_ignored_seconds').histogram.count, 0);
});

test('gauge: set, inc, dec, setToCurrentTime, startTimer', () => {
  const g = new Gauge({ name: 'api_queue_depth', help: 'Depth', labelNames: ['queue'] });
  g.set({ queue: 'a' }, 10);
  g.inc({ queue: 'a' }, 2.5);
  g.dec({ queue: 'a' });
  g.labels('b').set(-3);
  g.labels('b').dec(0.5);
  assert.equal(one('api_queue_depth', { queue: 'a' }).value, 11.5);
  assert.equal(one('api_queue_depth', { queue: 'b' }).value, -3.5);
  const t = new Gauge({ name: 'api_last_run', help: 'When' });
  t.setToCurrentTime();
  assert.ok(Math.abs(one('api_last_run').value - Date.now() / 1000) < 3600);
  const end = t.startTimer();
  const seconds = end();
  assert.ok(seconds >= 0);
  assert.equal(one('api_last_run').value, seconds);
});

test('histogram: explicit buckets, cumulative in statsctl, sum and count', () => {
  const h = new Histogram({ name: 'api_latency_seconds', help: 'Latency', labelNames: ['route'],
                            buckets: [0.1, 0.5, 1] });
  const child = h.labels('/x');
  for (const v of [0.05, 0.1, 0.3, 0.7, 2, -1]) child.observe(v);
  h.observe({ route: '/x' }, 0.5);
  const m = one('api_latency_seconds', { route: '/x' });
  assert.equal(m.histogram.count, 7);
  assert.ok(Math.abs(m.histogram.sum - 2.65) < 1e-9);
});

test('histogram: default buckets, exponential buckets, zero()', async () => {
  const d = new Histogram({ name: 'api_default_seconds', help: 'x' });
  d.observe(0.2);
  const got = await d.get();
  assert.deepEqual(got.values[0].value.buckets, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const e = new Histogram({ name: 'api_exp_bytes', help: 'x', buckets: exponential({ min: 1, max: 1e6 }) });
  for (let i = 0; i < 1000; ++i) e.observe(i);
  e.observe(-3);
  assert.equal(one('api_exp_bytes').histogram.count, 1001);
  // Native buckets: n negative, the zero bucket in the middle, n positive, an overflow each side.
  const eb = (await e.get()).values[0].value.buckets;
  const middle = (eb.length - 1) / 2;
  assert.equal(eb[middle], 1); // 0
  assert.equal(eb.slice(0, middle).reduce((x, y) => x + y), 1); // -3
  assert.equal(eb.slice(middle + 1).reduce((x, y) => x + y), 999);
  const z = new Histogram({ name: 'api_zeroed_seconds', help: 'x', labelNames: ['k'] });
  z.zero({ k: 'v' });
  assert.equal(one('api_zeroed_seconds', { k: 'v' }).histogram.count, 0);
});

test('histogram and child timers observe the elapsed seconds', () => {
  const h = new Histogram({ name: 'api_timed_seconds', help: 'x', labelNames: ['op'] });
  const end = h.startTimer({ op: 'a' });
  const s1 = end();
  const end2 = h.startTimer();
  const s2 = end2({ op: 'a' });
  const s3 = h.labels('b').startTimer()();
  assert.ok(s1 >= 0 && s2 >= 0 && s3 >= 0);
  assert.equal(one('api_timed_seconds', { op: 'a' }).histogram.count, 2);
  assert.equal(one('api_timed_seconds', { op: 'b' }).histogram.count, 1);
});

test('summary: observations land in exponential buckets, read as a histogram', () => {
  const s = new Summary({ name: 'api_size_bytes', help: 'Sizes', percentiles: [0.5, 0.99] });
  for (let i = 1; i <= 100; ++i) s.observe(i);
  const m = one('api_size_bytes');
  assert.equal(m.type, 'histogram');
  assert.equal(m.histogram.count, 100);
  assert.equal(m.histogram.sum, 5050);
});

test('withMetrics: sync and async, success and failure', async () => {
  const ok = withMetrics('api_job', async (x) => x * 2);
  const bad = withMetrics('api_job', async () => {
    throw new Error('boom');
  });
  const syncBad = withMetrics('api_job', () => {
    throw new RangeError('sync boom');
  });
  const syncOk = withMetrics('api_job', (a, b) => a + b);
  assert.equal(await ok(21), 42);
  await assert.rejects(bad(), /boom/);
  await assert.rejects(bad(), /boom/);
  assert.throws(() => syncBad(), RangeError);
  assert.equal(syncOk(1, 2), 3);
  assert.equal(one('api_job_calls_total').value, 5);
  assert.equal(one('api_job_failures_total').value, 3);
  assert.equal(one('api_job_duration_seconds').histogram.count, 5);
});

test('withMetrics with labels', async () => {
  const f = withMetrics('api_task', async () => 'done', { labels: { orchestrator_id: 'orch-1' } });
  assert.equal(await f(), 'done');
  assert.equal(one('api_task_calls_total', { orchestrator_id: 'orch-1' }).value, 1);
  assert.equal(one('api_task_failures_total', { orchestrator_id: 'orch-1' }).value, 0);
});

test('set-up errors throw with a clear message', () => {
  assert.throws(() => new Counter({ name: 'bad name', help: 'x' }), /name/i);
  assert.throws(() => new Counter({ name: 'api_nohelp_total' }), /help/);
  assert.throws(() => new Counter({ name: 'api_x_total', help: 'x', labelNames: ['a', 'a'] }), /twice/);
  assert.throws(() => new Counter({ name: 'api_x_total', help: 'x', scope: 'thread' }), /scope/);
  assert.throws(() => new Histogram({ name: 'api_x_seconds', help: 'x', buckets: [2, 1] }), /increasing/);
  const c = new Counter({ name: 'api_labelled_total', help: 'x', labelNames: ['a'] });
  assert.throws(() => c.labels('1', '2'), /label/);
  assert.throws(() => c.labels({ b: '1' }), /label/);
  // The same name registered with another type.
  assert.throws(() => new Gauge({ name: 'api_requests_total', help: 'x', labelNames: ['method', 'code'] })
      .labels('GET', '200'), (e) => e.code === 'SHMSTATS_TYPE_MISMATCH' && /api_requests_total/.test(e.message));
});

test('reset zeroes the series in the segment', () => {
  const c = new Counter({ name: 'api_resettable_total', help: 'x' });
  c.inc(7);
  c.reset();
  c.inc();
  assert.equal(one('api_resettable_total').value, 1);
});

test('two metric objects of one series share its slots', () => {
  const a = new Counter({ name: 'api_shared_total', help: 'x' });
  const b = new Counter({ name: 'api_shared_total', help: 'x' });
  a.inc();
  b.inc();
  assert.equal(one('api_shared_total').value, 2);
});

test('after closeSegment, recording goes nowhere and does not crash', () => {
  const name = freshSegment('closed');
  const c = new Counter({ name: 'api_closed_total', help: 'x', segment: name });
  const h = new Histogram({ name: 'api_closed_seconds', help: 'x', segment: name });
  c.inc();
  shmstats.closeSegment(name);
  c.inc();
  h.observe(1);
  assert.equal(statsctlGet(name, 'api_closed_total')[0].value, 1);
});

test('histograms record where code generation from strings is disallowed', () => {
  // Each layout's observe is compiled from source where Node.js allows it
  // (lib/children.js); under this flag the package falls back to one shared observe.
  const script = `
    const { Histogram, exponential } = require(${JSON.stringify(PACKAGE)});
    const a = new Histogram({ name: 'api_nocodegen_seconds', help: 'x', buckets: [1, 2] });
    const b = new Histogram({ name: 'api_nocodegen_bytes', help: 'x', buckets: exponential() });
    for (const v of [0.5, 1, 1.5, 3, NaN]) { a.observe(v); b.observe(v); }`;
  execFileSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script],
               { stdio: 'inherit' });
  const a = one('api_nocodegen_seconds').histogram;
  assert.deepEqual(a.buckets, [{ le: 1, count: 2 }, { le: 2, count: 3 }, { le: '+Inf', count: 4 }]);
  assert.equal(a.sum, 6);
  const b = one('api_nocodegen_bytes').histogram;
  assert.equal(b.count, 4);
  assert.equal(b.sum, 6);
});
