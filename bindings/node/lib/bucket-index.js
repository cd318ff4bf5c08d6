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

// The exponential bucket of v, as shmstats_detail_exponential_index:
//   i = ((bits(v) - 1) >> shift) - minKey, clamped to [0, last], with negative bits
//   (negatives, -0) taken as 0.
// shift is 52 - precision_bits (42..51), so only the high word of bits - 1 matters.
function exponentialIndex(v, shift, minKey, last) {
  scratchF64[0] = v;
  const lo = scratchU32[0], hi = scratchI32[1];
  const key = hi < 0 || (hi | lo) === 0 ? -1 : (lo === 0 ? hi - 1 : hi) >> (shift - 32);
  const i = key - minKey;
  return i < 0 ? 0 : i > last ? last : i;
}

module.exports = { explicitIndex, exponentialIndex };
