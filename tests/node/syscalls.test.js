// SPDX-License-Identifier: Apache-2.0
'use strict';
// Zero system calls on the recording path, checked as the C++ path is: 1,000,000
// of each recording call under a seccomp filter that ends the process on any system
// call but exit_group (with the call's number as its exit status). The filter binds the main thread, where recording
// runs (V8's and libuv's helper threads are outside it). A control run that makes
// one write(2) under the filter must die.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('child_process');
const path = require('path');
const { freshSegment, statsctlGet } = require('./helpers');

const CHILD = path.join(__dirname, 'syscall_child.js');

function run(segment, mode) {
  return spawnSync(process.execPath, [CHILD, mode], {
    env: { ...process.env, SHMSTATS_SEGMENT: segment }, encoding: 'utf8', timeout: 240000,
  });
}

test('1,000,000 each of inc, inc(n), set, inc/dec and observe make no system call', () => {
  const segment = freshSegment('syscalls');
  const r = run(segment, 'record');
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.status, 0, `system call number ${r.status} (255: read) while recording\n${r.stderr}`);
  // The loops ran: the warm-up's 2,000,000 of each and the sandboxed 1,000,000.
  const rounds = 3000000;
  assert.equal(statsctlGet(segment, 'sys_ops_total')[0].value, rounds * 4);
  assert.equal(statsctlGet(segment, 'sys_bytes')[0].histogram.count, rounds);
  assert.equal(statsctlGet(segment, 'sys_seconds')[0].histogram.count, rounds);
  // The last set(999999), then 1,000,000 × inc(0.5) and dec(0.25).
  assert.equal(statsctlGet(segment, 'sys_level')[0].value, 999999 + 500000 - 250000);
});

test('control: a system call under the filter ends the process', () => {
  const r = run(freshSegment('syscalls_control'), 'control');
  assert.equal(r.status, 1); // write(2)
});
