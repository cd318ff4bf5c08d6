'use strict';
// Run by syscalls.test.js. argv[2]:
//   "integer": 1,000,000 × (counter inc(), inc(3), gauge set()) after a seccomp filter
//     on this, the main, thread allows nothing but exit_group, then exit_group(0):
//     any system call on those paths kills the process with SIGSYS;
//   "control": the same, plus one write(2) under the filter (must die);
//   "double": 1,000,000 × (histogram observe() of each layout, gauge inc()) between
//     two marker writes ("BEGIN"/"END" to /dev/null), for strace to count.
const fs = require('fs');
const { PACKAGE } = require('./helpers');
const { Counter, Gauge, Histogram, exponential } = require(PACKAGE);
const probe = require(process.env.SHMSTATS_NODE_PROBE);

const mode = process.argv[2];
const counter = new Counter({ name: 'sys_ops_total', help: 'x', labelNames: ['k'] }).labels('v');
const gauge = new Gauge({ name: 'sys_level', help: 'x' });
const explicit = new Histogram({ name: 'sys_seconds', help: 'x', labelNames: ['k'] }).labels('v');
const expo = new Histogram({ name: 'sys_bytes', help: 'x', buckets: exponential() });

function integer(n) {
  for (let i = 0; i < n; ++i) {
    counter.inc();
    counter.inc(3);
    gauge.set(i);
  }
}

function double(n) {
  for (let i = 0; i < n; ++i) {
    explicit.observe((i & 1023) * 0.01);
    expo.observe(i);
    gauge.inc(0.5);
  }
}

// Warm-up in several calls, so the loop is optimized (no compile job pending) first.
const loop = mode === 'double' ? double : integer;
for (let k = 0; k < 20; ++k) loop(100000);
if (mode === 'double') {
  const fd = fs.openSync('/dev/null', 'w');
  fs.writeSync(fd, 'BEGIN');
  loop(1000000);
  fs.writeSync(fd, 'END');
  process.exit(0);
}
probe.enterExitOnlyFilter();
if (mode === 'control') fs.writeSync(1, 'a system call\n');
loop(1000000);
probe.exitGroup(0);
