// SPDX-License-Identifier: Apache-2.0
'use strict';
// What the Node.js package's suites share: the package (from the repository, with
// the addon of this build: $SHMSTATS_NODE_ADDON), a segment of their own removed
// at exit, statsctl's JSON, and shmstatsd serving /metrics on a port of its own.
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
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

// The child process's { code, signal } once it has exited.
function exited(child) {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

// Waits, up to `ms`, until check() returns a value other than undefined, polling (each
// poll asks whether the thing is ready: nothing waits a fixed time for it); throws
// what(), saying what never came, after that.
async function waitFor(check, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// shmstatsd ($SHMSTATSD) on `segment`, HTTP on a port the kernel chose (read from its
// --port-file), once /healthz says it is attached and ok. Returns { port, stop }.
async function startDaemon(segment) {
  if (!process.env.SHMSTATSD) throw new Error('SHMSTATSD is not set: run the suites through ctest');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmstats-node-'));
  const portFile = path.join(dir, 'ports');
  let log = '';
  const daemon = spawn(process.env.SHMSTATSD,
                       ['--segment', segment, '--state-dir', dir, '--listen', '127.0.0.1:0',
                        '--port-file', portFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  daemon.stdout.on('data', (d) => { log += d; });
  daemon.stderr.on('data', (d) => { log += d; });
  const gone = exited(daemon);
  const stop = async () => {
    if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGTERM');
    await gone;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const why = () => `shmstatsd (exit ${daemon.exitCode}) not ready; its output: ${log}`;
    const port = await waitFor(() => {
      if (daemon.exitCode !== null) throw new Error(why());
      if (!fs.existsSync(portFile)) return undefined;
      const m = /^http (\d+)$/m.exec(fs.readFileSync(portFile, 'utf8'));
      return m === null ? undefined : Number(m[1]);
    }, 60000, why);
    await waitFor(async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/healthz`);
        const body = await r.text();
        return r.status === 200 && JSON.parse(body).status === 'ok' ? true : undefined;
      } catch {
        return undefined;
      }
    }, 60000, why);
    return { port, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

// GET /metrics (Prometheus text) as a map: 'name{labels}' (as printed) => value.
async function scrape(port) {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  const samples = new Map();
  for (const line of (await r.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

module.exports = { PACKAGE, freshSegment, statsctl, statsctlGet, exited, startDaemon, scrape };
