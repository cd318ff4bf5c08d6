// SPDX-License-Identifier: Apache-2.0
'use strict';
// withMetrics(name, fn): fn wrapped so that every call counts in <name>_calls_total,
// every throw or rejection in <name>_failures_total, and its duration (to the
// settling of a returned promise) in <name>_duration_seconds. The metrics are
// registered when wrapping (errors throw there); the wrapper records only.
const { Counter, Histogram, exponential } = require('./metrics');
const { now } = require('./children');

function withMetrics(name, fn, options = {}) {
  if (typeof fn !== 'function') throw new TypeError(`shmstats: withMetrics(${name}, fn): fn is not a function`);
  const { labels = {}, segment, scope, buckets = exponential(), help = name } = options;
  const labelNames = Object.keys(labels);
  const base = { labelNames, segment, scope };
  const pick = (m) => (labelNames.length ? m.labels(labels) : m._unlabelled());
  const calls = pick(new Counter({ ...base, name: `${name}_calls_total`, help: `Calls of ${help}` }));
  const failures = pick(new Counter({ ...base, name: `${name}_failures_total`,
                                      help: `Calls of ${help} that threw or rejected` }));
  const duration = pick(new Histogram({ ...base, name: `${name}_duration_seconds`,
                                        help: `Duration of ${help}`, buckets }));
  const wrapped = function (...args) {
    calls.inc();
    const start = now();
    let result;
    try {
      result = fn.apply(this, args);
    } catch (e) {
      failures.inc();
      duration.observe((now() - start) / 1000);
      throw e;
    }
    if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
      return result.then((v) => {
        duration.observe((now() - start) / 1000);
        return v;
      }, (e) => {
        failures.inc();
        duration.observe((now() - start) / 1000);
        throw e;
      });
    }
    duration.observe((now() - start) / 1000);
    return result;
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped;
}

module.exports = { withMetrics };
