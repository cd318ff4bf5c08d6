// SPDX-License-Identifier: Apache-2.0
'use strict';
// shmstats for Node.js: prom-client's Counter, Gauge, Histogram and Summary (and
// withMetrics), recording into a shmstats shared-memory segment from JavaScript.
const metrics = require('./metrics');
const { withMetrics } = require('./with-metrics');
const native = require('./native');

module.exports = {
  Counter: metrics.Counter,
  Gauge: metrics.Gauge,
  Histogram: metrics.Histogram,
  Summary: metrics.Summary,
  exponential: metrics.exponential,
  linearBuckets: metrics.linearBuckets,
  exponentialBuckets: metrics.exponentialBuckets,
  DEFAULT_BUCKETS: metrics.DEFAULT_BUCKETS,
  withMetrics,
  // Unmaps a segment (default: $SHMSTATS_SEGMENT or "shmstats"); its metrics record
  // nowhere afterwards.
  closeSegment: native.closeSegment,
  // Folds the process-scoped series of exited processes into their shared series
  // (shmstatsd does it every tick); returns how many were retired.
  retireExited(segment) {
    return native.addon.retireExited(native.segment(segment).handle);
  },
};
