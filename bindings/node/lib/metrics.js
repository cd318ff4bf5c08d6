// SPDX-License-Identifier: Apache-2.0
'use strict';
// Counter, Gauge, Histogram and Summary with prom-client's API, each series a set of
// slots in a shmstats segment shared by every process. Set-up (constructors,
// labels()) throws on bad input; recording never throws.
const native = require('./native');
const children = require('./children');

const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// The library's exponential buckets, those of Prometheus native histograms: 2^schema
// buckets per power of two (schema -4..8; 3: each about 9% wide) from min to max,
// and a zero bucket for |v| <= zeroThreshold (0: the library's default, the smallest
// normal double). Pass as `buckets: exponential({ min, max, schema, zeroThreshold })`.
function exponential({ min = 1e-6, max = 1e4, schema = 3, zeroThreshold = 0 } = {}) {
  return { kind: 'exponential', min, max, schema, zeroThreshold };
}

function explicit(bounds) {
  if (!Array.isArray(bounds) && !ArrayBuffer.isView(bounds)) {
    throw new TypeError('shmstats: buckets must be an array of upper bounds or exponential({...})');
  }
  const b = Array.from(bounds, Number).filter((x) => x !== Infinity);
  for (let i = 0; i < b.length; ++i) {
    if (!Number.isFinite(b[i]) || (i > 0 && !(b[i - 1] < b[i]))) {
      throw new RangeError(`shmstats: bucket bounds must be finite and strictly increasing: ${b}`);
    }
  }
  return { kind: 'explicit', bounds: Float64Array.from(b) };
}

function isLabels(a) {
  return typeof a === 'object' && a !== null;
}

class Metric {
  constructor(type, config, buckets = null) {
    if (config === null || typeof config !== 'object') {
      throw new TypeError('shmstats: pass a configuration object { name, help, labelNames }');
    }
    const { name, help, labelNames = [], segment, scope = 'shared', unit, collect } = config;
    if (typeof name !== 'string' || name === '') throw new Error('Missing mandatory name parameter');
    if (typeof help !== 'string') throw new Error('Missing mandatory help parameter');
    if (!Array.isArray(labelNames) || labelNames.some((l) => typeof l !== 'string')) {
      throw new TypeError(`shmstats: ${name}: labelNames must be an array of strings`);
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new Error(`shmstats: ${name}: a label name appears twice in ${labelNames}`);
    }
    if (!(scope in native.SCOPE)) {
      throw new RangeError(`shmstats: ${name}: scope must be 'shared' or 'process', not ${scope}`);
    }
    if (collect !== undefined) {
      throw new Error(`shmstats: ${name}: collect() callbacks are not supported: readers ` +
                      '(shmstatsd, statsctl) read the segment without calling this process');
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames.slice();
    this.type = type;
    this._unit = unit;
    this._scope = scope;
    this._spec = buckets;
    this._segment = native.segment(segment);
    this._children = new Map();
    // The series without labels, registered now when there are no label names (so a
    // bad name throws here), else on first use.
    this._plain = this.labelNames.length === 0 ? this._child([]) : null;
  }

  // The child series for these label values: labels('GET', '200') or
  // labels({ method: 'GET', code: '200' }). Registers the series on first use.
  labels(...args) {
    return this._child(this._values(args));
  }

  // Forgets a child here (the series stays in the segment, shared by other processes).
  remove(...args) {
    this._children.delete(this._values(args).join('\u0000'));
  }

  // Zeroes every series of this name in the segment (atomically: increments racing
  // the reset are never lost), in every process.
  reset() {
    native.addon.reset(this._segment.handle, this.name);
  }

  // prom-client's get(): the values of the series this process has used.
  async get() {
    const values = [];
    const add = (labels, child) => values.push({ labels, value: child._read() });
    if (this._plain !== null) add({}, this._plain);
    for (const [key, child] of this._children) {
      if (child === this._plain) continue;
      const vs = key.split('\u0000');
      add(Object.fromEntries(this.labelNames.map((n, i) => [n, vs[i]])), child);
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }

  _values(args) {
    const names = this.labelNames;
    if (names.length === 0) throw new Error(`shmstats: ${this.name} has no label names`);
    if (args.length === 1 && args[0] !== null && typeof args[0] === 'object') {
      const given = args[0];
      const extra = Object.keys(given).filter((k) => !names.includes(k));
      if (extra.length > 0 || names.some((n) => !(n in given))) {
        throw new Error(`shmstats: ${this.name}: labels ${Object.keys(given)} do not match ` +
                        `labelNames ${names}`);
      }
      return names.map((n) => String(given[n]));
    }
    if (args.length !== names.length) {
      throw new Error(`shmstats: ${this.name}: ${args.length} label values for ` +
                      `${names.length} label names (${names})`);
    }
    return args.map(String);
  }

  _child(values) {
    const key = values.join('\u0000');
    let child = this._children.get(key);
    if (child === undefined) {
      const labels = values.map((v, i) => [this.labelNames[i], v]);
      const series = this._segment.register(this._kind(), this.name, labels, this.help, this._unit,
                                            this._scope, this._buckets());
      child = this._makeChild(series);
      series.users.add(child);
      this._children.set(key, child);
    }
    return child;
  }

  // A timer whose end(endLabels?) records into the child of labels and endLabels merged.
  _timer(labels, record) {
    return children.timer((seconds, endLabels) => {
      const l = labels || endLabels ? { ...labels, ...endLabels } : null;
      record(l ? this.labels(l) : this._unlabelled(), seconds);
    });
  }

  // The child a family-level call (inc(labels?, n), observe(labels?, v), ...) records into.
  _on(a) {
    return isLabels(a) ? this.labels(a) : this._unlabelled();
  }

  // The series a call without labels records into.
  _unlabelled() {
    if (this._plain === null) this._plain = this._child([]);
    return this._plain;
  }

  _kind() {
    return this.type;
  }

  _buckets() {
    return this._spec;
  }
}

class Counter extends Metric {
  constructor(config) {
    super('counter', config);
  }

  // inc(), inc(n), inc(labels), inc(labels, n).
  inc(a, b) {
    this._on(a).inc(isLabels(a) ? b : a);
  }

  _makeChild(series) {
    return new children.CounterChild(series);
  }
}

class Gauge extends Metric {
  constructor(config) {
    super('gauge', config);
  }

  set(a, b) {
    this._on(a).set(isLabels(a) ? b : a);
  }

  inc(a, b) {
    this._on(a).inc(isLabels(a) ? b : a);
  }

  dec(a, b) {
    this._on(a).dec(isLabels(a) ? b : a);
  }

  setToCurrentTime(labels) {
    (labels ? this.labels(labels) : this._unlabelled()).setToCurrentTime();
  }

  // Returns end(labels?): sets the gauge to the seconds elapsed and returns them.
  startTimer(labels) {
    return this._timer(labels, (child, seconds) => child.set(seconds));
  }

  _makeChild(series) {
    return new children.GaugeChild(series);
  }
}

class Histogram extends Metric {
  constructor(config, type = 'histogram') {
    const spec = config && config.buckets && config.buckets.kind === 'exponential'
      ? config.buckets
      : explicit((config && config.buckets) || DEFAULT_BUCKETS);
    super(type, config, spec);
  }

  observe(a, b) {
    this._on(a).observe(isLabels(a) ? b : a);
  }

  // Returns end(labels?): observes the seconds elapsed and returns them.
  startTimer(labels) {
    return this._timer(labels, (child, seconds) => child.observe(seconds));
  }

  // prom-client's zero(labels): registers the series, so it shows with zero counts.
  zero(labels) {
    this.labels(labels);
  }

  _kind() {
    return 'histogram';
  }

  _makeChild(series) {
    return children.histogramChild(series);
  }
}

// prom-client's Summary, where it fits: observations go into exponential buckets
// (2^schema per power of two, 8 by default: each about 9% wide), from which readers compute
// any percentile over any range, merged across processes; `percentiles`,
// `maxAgeSeconds` and `ageBuckets` are accepted and left to the readers. It is
// stored and exported as a histogram.
class Summary extends Histogram {
  constructor(config) {
    const buckets = (config && config.buckets) || exponential();
    super({ ...config, buckets }, 'summary');
  }
}

module.exports = {
  Counter, Gauge, Histogram, Summary, exponential, DEFAULT_BUCKETS,
  linearBuckets(start, width, count) {
    if (count < 1) throw new Error('Linear buckets needs a positive count');
    return Array.from({ length: count }, (_, i) => start + i * width);
  },
  exponentialBuckets(start, factor, count) {
    if (start <= 0) throw new Error('Exponential buckets needs a positive start');
    if (count < 1) throw new Error('Exponential buckets needs a positive count');
    if (factor <= 1) throw new Error('Exponential buckets needs a factor greater than 1');
    return Array.from({ length: count }, (_, i) => start * factor ** i);
  },
};
