'use strict';
// The bucket index of a histogram's observe(), computed in JavaScript exactly as
// the library does (shmstats_histogram_bucket_index in shmstats/shmstats_c.h); the
// slots themselves are updated by wasm.js.

// Scratch for reading a double's bits (little-endian hosts only: x86-64 and arm64
// Linux, which the segment format assumes).
const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const scratchI32 = new Int32Array(scratchF64.buffer);

// The explicit bucket of v: the first bound >= v, or bounds.length (+Inf), as
// shmstats_histogram_bucket_index for explicit bounds (table or search alike). The
// search halves a fixed number of times (log2 of the bounds), as the library's, so
// its loop branch is predictable whatever v is.
function explicitIndex(bounds, v) {
  let base = 0, n = bounds.length;
  while (n > 1) {
    const half = n >>> 1;
    if (bounds[base + half - 1] < v) base += half;
    n -= half;
  }
  return bounds[base] < v ? base + 1 : base;
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

// The native-schema bucket of v (not NaN), as shmstats_detail_exponential_index (the
// algorithm of docs/segment-format.md). h holds the handle's fields: cells
// (nativeCells), shift = max(schema, 0), coarseShift = max(-schema, 0), minKey, last
// (the positive buckets, n) and zero (the zero threshold z). Slot order: 0 negative
// overflow, 1..n negatives, n+1 zero bucket (|v| <= z), n+2..2n+1 positives, 2n+2
// positive overflow; below the range counts in the first bucket of its sign.
function exponentialIndex(h, v) {
  scratchF64[0] = v;
  const lo = scratchU32[0], hi = scratchI32[1];
  const mantissaHi = hi & 0xfffff; // the top 20 of the 52 mantissa bits
  const cell = mantissaHi >>> (19 - h.shift); // mantissa >> (51 - shift)
  const sub = h.cells.sub[cell] + (mantissaHi * 2 ** 32 + lo > h.cells.bound[cell] ? 1 : 0);
  const exponent = (hi >>> 20) & 0x7ff;
  const key = (((exponent + 1) << h.shift) + sub + (1 << h.coarseShift) - 1) >> h.coarseShift;
  let k = key - h.minKey;
  k = k < 0 ? 0 : k > h.last ? h.last : k;
  const d = Math.abs(v) > h.zero ? k + 1 : 0;
  return h.last + 1 + (hi < 0 ? -d : d);
}

module.exports = { explicitIndex, nativeCells, exponentialIndex };
