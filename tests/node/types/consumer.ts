// SPDX-License-Identifier: Apache-2.0
// A TypeScript consumer of the package's type definitions: prom-client's common
// calls, withMetrics, and what must not compile (checked with @ts-expect-error).
import { Counter, Gauge, Histogram, Summary, withMetrics, exponential, linearBuckets } from 'shmstats';

const requests = new Counter({ name: 'ts_requests_total', help: 'Requests', labelNames: ['method', 'code'] as const });
requests.inc();
requests.inc({ method: 'GET' }, 2);
requests.labels('GET', 200).inc();
requests.labels({ method: 'GET', code: '200' }).inc(3);
// @ts-expect-error: not a label name
requests.inc({ verb: 'GET' });

const depth = new Gauge({ name: 'ts_depth', help: 'Depth' });
depth.set(3);
depth.inc();
depth.dec(0.5);
const endGauge: (labels?: object) => number = depth.startTimer();
endGauge();

const latency = new Histogram({ name: 'ts_latency_seconds', help: 'Latency', labelNames: ['route'],
                                buckets: linearBuckets(0.1, 0.1, 10) });
latency.observe({ route: '/x' }, 0.3);
const end = latency.startTimer({ route: '/x' });
const seconds: number = end();
latency.labels('/y').observe(seconds);
const sizes = new Histogram({ name: 'ts_sizes_bytes', help: 'Sizes', buckets: exponential({ min: 1, max: 1e9 }) });
sizes.observe(1024);
new Summary({ name: 'ts_summary', help: 'S', percentiles: [0.5, 0.99] }).observe(1);

async function fetchUser(id: number): Promise<{ id: number }> {
  return { id };
}
const fetchWithMetrics = withMetrics('ts_fetch_user', fetchUser, { labels: { service: 'users' } });
const user: Promise<{ id: number }> = fetchWithMetrics(1);
void user;
// @ts-expect-error: the wrapper keeps the parameter types
fetchWithMetrics('one');
const add = withMetrics('ts_add', (a: number, b: number) => a + b);
const sum: number = add(1, 2);
void sum;
