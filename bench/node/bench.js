// SPDX-License-Identifier: Apache-2.0
'use strict';
// Counter.inc and Histogram.observe on a labelled child: shmstats (JavaScript
// Atomics on the mapped segment) against prom-client (the peer) and against the
// floor (Atomics.add on a plain SharedArrayBuffer), in the same run, interleaved
// round by round so that the machine's load falls on all of them alike. Times are
// CPU time per call (process.cpuUsage), best and median of ROUNDS rounds of CALLS
// calls; ratios are of the bests.
//   SHMSTATS_NODE_ADDON=<build>/tests/node/pkg/build/Release/shmstats.node node bench.js
const path = require('path');
const fs = require('fs');
const prom = require('prom-client');
const shmstats = require(path.join(__dirname, '..', '..', 'bindings', 'node'));
const wasm = require(path.join(__dirname, '..', '..', 'bindings', 'node', 'lib', 'wasm'));

const CALLS = Number(process.env.CALLS || 2e6);
const ROUNDS = Number(process.env.ROUNDS || 7);
const segment = `shmstats_bench_node_${process.pid}`;
process.on('exit', () => fs.rmSync(`/dev/shm/${segment}`, { force: true }));

const values = Float64Array.from({ length: 1024 }, (_, i) => ((i * 7919) % 1024) / 100);
const sab = new SharedArrayBuffer(64);
const i32 = new Int32Array(sab);
const u64 = new BigUint64Array(sab);
const i64 = new BigInt64Array(sab);
const f64 = new Float64Array(sab);
const scratchF = new Float64Array(1);
const scratchI = new BigInt64Array(scratchF.buffer);

const sc = new shmstats.Counter({ name: 'bench_total', help: 'x', labelNames: ['k'], segment }).labels('a');
const sh = new shmstats.Histogram({ name: 'bench_seconds', help: 'x', labelNames: ['k'], segment }).labels('a');
const she = new shmstats.Histogram({ name: 'bench_exp_seconds', help: 'x', labelNames: ['k'], segment,
                                     buckets: shmstats.exponential() }).labels('a');
// A second explicit layout (its own WebAssembly module), for one call site that
// observes into two layouts: polymorphic there, so V8 no longer inlines the call.
const sh2 = new shmstats.Histogram({ name: 'bench2_seconds', help: 'x', labelNames: ['k'], segment,
                                     buckets: [0.5, 1, 2, 4] }).labels('a');
const pair = [sh, sh2];
const pcFamily = new prom.Counter({ name: 'bench_total', help: 'x', labelNames: ['k'] });
const pc = pcFamily.labels('a');
const pcPlain = new prom.Counter({ name: 'bench_plain_total', help: 'x' });
const ph = new prom.Histogram({ name: 'bench_seconds', help: 'x', labelNames: ['k'] }).labels('a');
const labels = { k: 'a' };
// shmstats' own instructions (lib/wasm.js) on a plain WebAssembly.Memory: the floor of
// its method, without the segment and the child object; for observe, a layout
// without bounds (its bucket index is the constant 0).
const plainMemory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
const plain = wasm.instantiate(plainMemory);
const plainObserve = wasm.instantiateLayout(plainMemory, { kind: 'explicit', bounds: [] });

const cases = {
  'floor: Atomics.add(Int32Array on SAB)': () => { for (let i = 0; i < CALLS; ++i) Atomics.add(i32, 0, 1); },
  'floor: Atomics.add(BigUint64Array on SAB)': () => { for (let i = 0; i < CALLS; ++i) Atomics.add(u64, 1, 1n); },
  // What an observe must do at least: an integer add (the bucket) and a 64-bit
  // compare-and-swap of a double's bits (the sum).
  'floor: observe = Atomics.add + 64-bit CAS of a double': () => {
    for (let i = 0; i < CALLS; ++i) {
      Atomics.add(i32, 4, 1);
      scratchF[0] = f64[3];
      const old = scratchI[0];
      scratchF[0] += values[i & 1023];
      Atomics.compareExchange(i64, 3, old, scratchI[0]);
    }
  },
  'floor: wasm i64 add on a plain memory': () => { for (let i = 0; i < CALLS; ++i) plain.a(64, 1); },
  'floor: wasm observe on a plain memory': () => {
    for (let i = 0; i < CALLS; ++i) plainObserve.o(0, values[i & 1023]);
  },
  'shmstats child.inc()': () => { for (let i = 0; i < CALLS; ++i) sc.inc(); },
  'prom-client child.inc()': () => { for (let i = 0; i < CALLS; ++i) pc.inc(); },
  'prom-client inc({k})': () => { for (let i = 0; i < CALLS; ++i) pcFamily.inc(labels); },
  'prom-client unlabelled inc()': () => { for (let i = 0; i < CALLS; ++i) pcPlain.inc(); },
  'shmstats child.observe() explicit': () => { for (let i = 0; i < CALLS; ++i) sh.observe(values[i & 1023]); },
  'shmstats child.observe() exponential': () => { for (let i = 0; i < CALLS; ++i) she.observe(values[i & 1023]); },
  'shmstats observe(), 2 layouts, 1 call site': () => {
    for (let i = 0; i < CALLS; ++i) pair[i & 1].observe(values[i & 1023]);
  },
  'prom-client child.observe()': () => { for (let i = 0; i < CALLS; ++i) ph.observe(values[i & 1023]); },
};

function cpuNs(fn) {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return ((d.user + d.system) * 1000) / CALLS;
}

const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const fn of Object.values(cases)) fn(); // warm-up: every loop compiled
for (let r = 0; r < ROUNDS; ++r) for (const [k, fn] of Object.entries(cases)) times[k].push(cpuNs(fn));

const best = {};
console.log(`node ${process.version}, ${CALLS} calls x ${ROUNDS} rounds, CPU ns per call`);
console.log('case'.padEnd(42), 'best'.padStart(8), 'median'.padStart(8), 'worst'.padStart(8));
for (const [k, ts] of Object.entries(times)) {
  ts.sort((a, b) => a - b);
  best[k] = ts[0];
  console.log(k.padEnd(42), ts[0].toFixed(1).padStart(8), ts[ts.length >> 1].toFixed(1).padStart(8),
              ts[ts.length - 1].toFixed(1).padStart(8));
}
const ratio = (a, b) => `${(best[a] / best[b]).toFixed(2)}x`;
const floor = 'floor: Atomics.add(Int32Array on SAB)';
const floor64 = 'floor: Atomics.add(BigUint64Array on SAB)';
const floorObserve = 'floor: observe = Atomics.add + 64-bit CAS of a double';
console.log('\nratios (of the bests; targets: <= 0.5x prom-client, <= 1.5x the floor)');
console.log('inc:     vs prom-client child.inc()', ratio('shmstats child.inc()', 'prom-client child.inc()'),
            ' vs inc({k})', ratio('shmstats child.inc()', 'prom-client inc({k})'),
            ' vs floor', ratio('shmstats child.inc()', floor), ' vs 64-bit floor', ratio('shmstats child.inc()', floor64),
            ' vs wasm floor', ratio('shmstats child.inc()', 'floor: wasm i64 add on a plain memory'));
for (const kind of ['explicit', 'exponential']) {
  const k = `shmstats child.observe() ${kind}`;
  console.log(`observe (${kind}): vs prom-client`, ratio(k, 'prom-client child.observe()'), ' vs floor',
              ratio(k, floor), ' vs observe floor', ratio(k, floorObserve),
              ' vs wasm floor', ratio(k, 'floor: wasm observe on a plain memory'));
}
console.log('observe (2 layouts, 1 call site): vs prom-client',
            ratio('shmstats observe(), 2 layouts, 1 call site', 'prom-client child.observe()'),
            ' vs floor', ratio('shmstats observe(), 2 layouts, 1 call site', floor));
console.log('prom-client unlabelled inc() (a plain add on this process\'s object):',
            `${best['prom-client unlabelled inc()'].toFixed(1)} ns`);
