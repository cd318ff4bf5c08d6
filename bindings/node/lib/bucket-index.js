// SPDX-License-Identifier: Apache-2.0
'use strict';
// The bucket index of a histogram's observe(), computed in JavaScript exactly as
// the library does (shmstats_histogram_bucket_index in shmstats/shmstats_c.h); the
// slots themselves are updated by wasm.js.

// Scratch for reading a double's bits (little-endian hosts only: x86-64 and arm64
// Linux, which the segment format assumes).
const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const scratchI32 = new Int32Array(scratchF64.buffer);

// The explicit bucket index of a layout: v => the first bound >= v, or bounds.length
// (+Inf), as shmstats_histogram_bucket_index for explicit bounds (table or search
// alike). It is the library's search (halving a fixed number of times) unrolled into
// one expression with the bounds as constants, compiled once per layout: no loop and
// no loads, about half the time of the loop over a Float64Array (bench/node).
function explicitIndexer(bounds) {
  const b = Array.from(bounds, Number);
  for (const x of b) if (!Number.isFinite(x)) throw new RangeError(`shmstats: bound ${x} is not finite`);
  const search = (base, n) => {
    if (n <= 1) return `(${b[base]} < v ? ${base + 1} : ${base})`;
    const half = n >>> 1;
    return `(${b[base + half - 1]} < v ? ${search(base + half, n - half)} : ${search(base, n - half)})`;
  };
  // Number's toString round-trips every finite double exactly, so the constants are the bounds.
  return new Function('v', `'use strict'; return ${b.length === 0 ? '0' : search(0, b.length)};`);
}

// The library's cells of a precision p (shmstats_histogram.native, 2^(p+1) u64s,
// copied by the addon), split once per precision into what JavaScript compares
// without BigInt: cell k = (B << 11) | J, where J is the sub-bucket below the cell's
// first mantissa and B (< 2^52, exact as a double) the mantissa of the next bound.
const cellsByShift = new Map();
function nativeCells(shift, buffer) {
  let c = cellsByShift.get(shift);
  if (c === undefined) {
    const words = new Uint32Array(buffer); // [lo, hi] per cell
    const n = words.length >>> 1;
    c = { bound: new Float64Array(n), sub: new Int32Array(n) };
    for (let k = 0; k < n; ++k) {
      const lo = words[2 * k], hi = words[2 * k + 1];
      c.bound[k] = hi * 2 ** 21 + (lo >>> 11);
      c.sub[k] = lo & 0x7ff;
    }
    cellsByShift.set(shift, c);
  }
  return c;
}

// The native-schema bucket index of a series: v (not NaN) => its bucket, as
// shmstats_detail_exponential_index (the algorithm of docs/segment-format.md): the
// octave from the exponent, the sub-bucket from one of the library's cells and one
// comparison, clamped to the range, mirrored about the zero bucket by sign. h holds
// the handle's fields: cells (nativeCells), shift = max(schema, 0), coarseShift =
// max(-schema, 0), minKey, last (n, the positive buckets) and zero (the threshold z).
// Slot order: 0 negative overflow, 1..n negatives, n+1 the zero bucket (|v| <= z),
// n+2..2n+1 positives, 2n+2 positive overflow; values below the range count in the
// first bucket of their sign. Compiled once per series with the fields as constants.
function exponentialIndexer(h) {
  const { shift, coarseShift, minKey, last, zero } = h;
  for (const x of [shift, coarseShift, minKey, last, zero]) {
    if (!Number.isFinite(x)) throw new RangeError(`shmstats: bad histogram handle field ${x}`);
  }
  const make = new Function('sub', 'bound', 'f64', 'u32', 'i32', `'use strict';
    return function exponentialIndex(v) {
      f64[0] = v;
      const lo = u32[0], hi = i32[1];
      const mantissaHi = hi & 0xfffff; // the top 20 of the 52 mantissa bits
      const cell = mantissaHi >>> ${19 - shift}; // mantissa >> (51 - shift)
      const s = sub[cell] + (mantissaHi * 4294967296 + lo > bound[cell] ? 1 : 0);
      const key = (((((hi >>> 20) & 0x7ff) + 1) << ${shift}) + s + ${2 ** coarseShift - 1}) >> ${coarseShift};
      let k = key - ${minKey};
      k = k < 0 ? 0 : k > ${last} ? ${last} : k;
      const d = Math.abs(v) > ${zero} ? k + 1 : 0;
      return ${last + 1} + (hi < 0 ? -d : d);
    };`);
  return make(h.cells.sub, h.cells.bound, scratchF64, scratchU32, scratchI32);
}

module.exports = { explicitIndexer, nativeCells, exponentialIndexer };
