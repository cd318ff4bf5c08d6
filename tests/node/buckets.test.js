// SPDX-License-Identifier: Apache-2.0
'use strict';
// The package's bucket index (WebAssembly, lib/wasm.js instantiateLayout) equals the
// C library's (shmstats_histogram_bucket_index) value for value: 100,000 values per
// bucket layout, explicit and exponential, drawn to hit bounds exactly, their
// neighbouring doubles, zeros, negatives, subnormals, infinities and every magnitude.
// (NaN has no index: observe ignores it, api.test.js.)
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('path');
const { PACKAGE, freshSegment } = require('./helpers');

const segment = freshSegment('buckets');
const native = require(path.join(PACKAGE, 'lib', 'native'));
const probe = require(process.env.SHMSTATS_NODE_PROBE);

const N = 100000;
const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

// A seeded generator (xorshift32), so that a failure reproduces.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function neighbour(v, up) {
  f64[0] = v;
  if (v === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  i64[0] += (v > 0) === up ? 1n : -1n;
  return f64[0];
}

function values(seed, anchors) {
  const r = rng(seed);
  const special = [0, -0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE,
                   Number.MAX_VALUE, -Number.MAX_VALUE, 2.2250738585072014e-308, 1, -1];
  const out = new Float64Array(N);
  for (let i = 0; i < N; ++i) {
    const pick = r();
    let v;
    if (i < special.length) v = special[i];
    else if (pick < 0.3 && anchors.length) {
      v = anchors[Math.floor(r() * anchors.length)];
      const side = r();
      if (side < 1 / 3) v = neighbour(v, false);
      else if (side < 2 / 3) v = neighbour(v, true);
    } else if (pick < 0.7) {
      v = (r() < 0.1 ? -1 : 1) * 2 ** (r() * 80 - 40); // every magnitude around the layouts
    } else if (pick < 0.95) {
      const lo = anchors.length ? anchors[0] : 1e-6, hi = anchors.length ? anchors[anchors.length - 1] : 1e4;
      v = lo + (hi - lo) * r() * 1.2 - 0.1 * Math.abs(hi - lo);
    } else {
      f64[0] = 0;
      i64[0] = BigInt.asIntN(64, (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32)));
      v = f64[0];
      if (v !== v) v = 0.5; // NaN is never indexed (observe ignores it)
    }
    out[i] = v;
  }
  return out;
}

const explicitLayouts = [
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], // prom-client's defaults
  [1],
  [-10, -1, 0, 1, 10],
  Array.from({ length: 200 }, (_, i) => (i - 50) * 0.37),
  Array.from({ length: 40 }, (_, i) => 1e-9 * 3 ** i), // many magnitudes
  // Counts on either side of the index's runs of 16 bounds compared two at a time.
  ...[15, 16, 17, 32, 33].map((n) => Array.from({ length: n }, (_, i) => i * 0.25 - 1)),
  [-Number.MIN_VALUE, 0, Number.MIN_VALUE, 2.2250738585072014e-308, 1e308], // subnormals, 0
];

explicitLayouts.forEach((bounds, k) => {
  test(`explicit layout ${k} (${bounds.length} bounds): WebAssembly index == C index`, () => {
    const b = Float64Array.from(bounds);
    const vs = values(1000 + k, bounds);
    const c = probe.bucketIndices(segment, `explicit_${k}`, b, 0, 0, 0, 0, vs);
    const series = native.segment(segment).register(
        'histogram', `explicit_${k}`, [], 'x', null, 'shared', { kind: 'explicit', bounds: b });
    for (let i = 0; i < N; ++i) {
      const wasm = series.layout.i(vs[i]);
      if (wasm !== c[i]) assert.fail(`value ${vs[i]}: WebAssembly bucket ${wasm}, C bucket ${c[i]}`);
    }
  });
});

// Native schemas from the coarsest to the finest, the default zero threshold and wider ones.
const exponentialLayouts = [
  { min: 1e-6, max: 1e4, schema: 3, zeroThreshold: 0 }, // the library's defaults
  { min: 1, max: 1e6, schema: 1, zeroThreshold: 0.5 },
  { min: 1, max: 3, schema: 8, zeroThreshold: 0 },
  { min: 1e-30, max: 1e30, schema: -4, zeroThreshold: 1e-40 },
  { min: 1e-30, max: 1e30, schema: 0, zeroThreshold: 0 },
  { min: 0.75, max: 1.5, schema: 6, zeroThreshold: 0.25 },
  { min: 1e-3, max: 1e3, schema: -1, zeroThreshold: 0 },
  { min: 0.01, max: 100, schema: 5, zeroThreshold: 1e-3 },
];

exponentialLayouts.forEach((layout, k) => {
  test(`exponential layout ${JSON.stringify(layout)}: WebAssembly index == C index`, () => {
    const name = `exponential_${k}`;
    const series = native.segment(segment).register(
        'histogram', name, [], 'x', null, 'shared', { kind: 'exponential', ...layout });
    // Native bounds (docs/segment-format.md: the schema-fold square root of 2^j, times
    // powers of two) in the octaves of min, 1 and max; min, max, the zero threshold;
    // and their negatives.
    const anchors = [layout.min, layout.max, 3, layout.zeroThreshold || 2.2250738585072014e-308];
    const s = Math.max(layout.schema, 0);
    for (let j = 0; j < Math.min(2 ** s, 16); ++j) {
      let bound = 2 ** j;
      for (let t = 0; t < s; ++t) bound = Math.sqrt(bound);
      for (const o of [0, -1, Math.floor(Math.log2(layout.min)), Math.floor(Math.log2(layout.max))]) {
        anchors.push(bound * 2 ** o);
      }
    }
    for (const a of anchors.slice()) anchors.push(-a);
    anchors.sort((x, y) => x - y);
    const vs = values(2000 + k, anchors);
    const c = probe.bucketIndices(segment, name, null, layout.min, layout.max, layout.schema,
                                  layout.zeroThreshold, vs);
    for (let i = 0; i < N; ++i) {
      const wasm = series.layout.i(vs[i]);
      if (wasm !== c[i]) assert.fail(`value ${vs[i]}: WebAssembly bucket ${wasm}, C bucket ${c[i]}`);
    }
  });
});
