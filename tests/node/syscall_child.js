// SPDX-License-Identifier: Apache-2.0
'use strict';
// Run by syscalls.test.js: 1,000,000 of each recording call (counter inc()
// and inc(n), gauge set/inc/dec, histogram observe() with explicit and exponential
// buckets) after a seccomp filter on this, the main, thread allows nothing but
// exit_group; then exit_group(0). Any system call on those paths ends the process
// with the call's number as its exit status. argv[2] "control" makes one write(2) under the filter on purpose.
const fs = require('fs');
const { PACKAGE } = require('./helpers');
const { Counter, Gauge, Histogram, exponential } = require(PACKAGE);
const probe = require(process.env.SHMSTATS_NODE_PROBE);

const counter = new Counter({ name: 'sys_ops_total', help: 'x', labelNames: ['k'] }).labels('v');
const gauge = new Gauge({ name: 'sys_level', help: 'x' });
const explicit = new Histogram({ name: 'sys_seconds', help: 'x', labelNames: ['k'] }).labels('v');
const expo = new Histogram({ name: 'sys_bytes', help: 'x', buckets: exponential() });

// One loop per call, each small enough for V8 to inline the recording call into it
// (a double passed to a call that is not inlined is boxed: an allocation of the
// caller's, not of the recording path).
const loops = [
  (n) => { for (let i = 0; i < n; ++i) counter.inc(); },
  (n) => { for (let i = 0; i < n; ++i) counter.inc(3); },
  (n) => { for (let i = 0; i < n; ++i) gauge.set(i); },
  (n) => { for (let i = 0; i < n; ++i) gauge.inc(0.5); },
  (n) => { for (let i = 0; i < n; ++i) gauge.dec(0.25); },
  (n) => { for (let i = 0; i < n; ++i) explicit.observe((i & 1023) * 0.01); },
  (n) => { for (let i = 0; i < n; ++i) expo.observe(i * 1.5); },
];

function record(n) {
  for (const loop of loops) loop(n);
}

// Warm-up in several calls, so that the loops are optimized first.
for (let k = 0; k < 20; ++k) record(100000);
probe.enterExitOnlyFilter();
if (process.argv[2] === 'control') fs.writeSync(1, 'a system call\n');
record(1000000);
probe.exitGroup(0);
