// SPDX-License-Identifier: Apache-2.0
'use strict';
// What the Node.js package's suites share: the package (from the repository, with
// the addon of this build: $SHMSTATS_NODE_ADDON), a segment of their own removed
// at exit, and statsctl's JSON.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const PACKAGE = path.join(__dirname, '..', '..', 'bindings', 'node');

for (const v of ['SHMSTATS_NODE_ADDON', 'STATSCTL']) {
  if (!process.env[v]) throw new Error(`${v} is not set: run the suites through ctest`);
}

// A segment name unique to this process; the segment is removed when it exits.
function freshSegment(tag) {
  const name = `shmstats_node_${tag}_${process.pid}`;
  process.on('exit', () => fs.rmSync(`/dev/shm/${name}`, { force: true }));
  return name;
}

function statsctl(args) {
  return execFileSync(process.env.STATSCTL, args, { encoding: 'utf8' });
}

// The series of `name` as statsctl get --json prints them.
function statsctlGet(segment, name) {
  const out = JSON.parse(statsctl(['--segment', segment, 'get', '--json', name]));
  return out.metrics;
}

module.exports = { PACKAGE, freshSegment, statsctl, statsctlGet };
