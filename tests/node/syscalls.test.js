'use strict';
// System calls on the recording path. Counters (inc, inc(n)) and gauge set() make
// none, checked as the C++ path is: 1,000,000 records each under a seccomp filter
// that kills the process on any system call but exit_group (on the main thread,
// where recording runs; V8's and libuv's helper threads are outside it); a control
// run that makes one write(2) must die. Adding to a double (histogram observe's sum,
// gauge inc/dec) needs a 64-bit compare-and-swap, which Node.js 20 offers only on
// BigInt64Array, returning allocated BigInts: the garbage collector then runs now
// and then, and it makes system calls. strace counts them on the main thread.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { freshSegment, statsctlGet } = require('./helpers');

const CHILD = path.join(__dirname, 'syscall_child.js');

function run(segment, mode, prefix = []) {
  const argv = [...prefix, process.execPath, CHILD, mode];
  return spawnSync(argv[0], argv.slice(1), {
    env: { ...process.env, SHMSTATS_SEGMENT: segment }, encoding: 'utf8', timeout: 240000,
  });
}

test('1,000,000 counter inc(), inc(n) and gauge set() make no system call', () => {
  const segment = freshSegment('syscalls');
  const r = run(segment, 'integer');
  assert.equal(r.signal, null, `killed by ${r.signal}: a system call while recording\n${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  // The loops ran: the warm-up's 2,000,000 and the sandboxed 1,000,000, 4 units each.
  assert.equal(statsctlGet(segment, 'sys_ops_total')[0].value, 3000000 * 4);
  assert.equal(statsctlGet(segment, 'sys_level')[0].value, 999999);
});

test('control: a system call under the filter kills the process', () => {
  const r = run(freshSegment('syscalls_control'), 'control');
  assert.equal(r.signal, 'SIGSYS');
});

test('observe() and gauge inc(): system calls counted (garbage collection only)', () => {
  const segment = freshSegment('syscalls_double');
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shmstats-node-')), 'strace');
  const r = run(segment, 'double', ['strace', '-f', '-qq', '-o', log]);
  assert.equal(r.status, 0, r.stderr);
  const lines = fs.readFileSync(log, 'utf8').split('\n');
  const main = lines[0].split(/\s+/)[0]; // the first traced thread is node's main thread
  let inside = false;
  const calls = {};
  for (const line of lines) {
    const [tid, rest = ''] = line.split(/\s+(.*)/);
    if (tid !== main) continue;
    if (rest.includes('"BEGIN"')) inside = true;
    else if (rest.includes('"END"')) inside = false;
    else if (inside && !rest.startsWith('<...')) {
      const name = rest.split('(')[0];
      calls[name] = (calls[name] || 0) + 1;
    }
  }
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  const total = Object.values(calls).reduce((a, b) => a + b, 0);
  console.log(`# main-thread system calls in 3,000,000 double-adding records: ${total}`,
              JSON.stringify(calls));
  assert.equal(statsctlGet(segment, 'sys_bytes')[0].histogram.count, 3000000);
  // Not zero (see above), but the collector's: at most one per 1,000 records.
  assert.ok(total <= 3000, `${total} system calls`);
});
