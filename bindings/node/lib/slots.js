'use strict';
// Recording on a series' slots: the hot path, in JavaScript on typed-array views of
// the mapped memory. Every operation is an Atomics instruction (no call into the
// addon, no system call, no lock), byte for byte what the C ABI's inline functions
// do (shmstats/shmstats_c.h): counters and bucket counts are 64-bit atomic adds,
// doubles (gauges, histogram sums) a compare-and-swap loop on their bits.

// Scratch for moving doubles to and from their 64 bits (little-endian hosts only:
// x86-64 and arm64 Linux, which the segment format assumes).
const scratchF64 = new Float64Array(1);
const scratchI64 = new BigInt64Array(scratchF64.buffer);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const scratchI32 = new Int32Array(scratchF64.buffer);

// Adds d to the double in slot i. `f` and `b` are Float64Array and BigInt64Array
// views of the same slots. The first try guesses the bits from a plain read; a
// failed exchange returns the slot's exact bits, which the retry uses (so a NaN with
// any payload still converges).
function addDouble(f, b, i, d) {
  scratchF64[0] = f[i];
  let old = scratchI64[0];
  scratchF64[0] += d;
  let seen = Atomics.compareExchange(b, i, old, scratchI64[0]);
  while (seen !== old) {
    old = seen;
    scratchI64[0] = old;
    scratchF64[0] += d;
    seen = Atomics.compareExchange(b, i, old, scratchI64[0]);
  }
}

// Stores v's bits in slot i atomically.
function storeDouble(b, i, v) {
  scratchF64[0] = v;
  Atomics.store(b, i, scratchI64[0]);
}

// The explicit bucket of v: the first bound >= v, or bounds.length (+Inf), as
// shmstats_histogram_bucket_index for explicit bounds (table or search alike).
function explicitIndex(bounds, v) {
  let lo = 0, hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
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

module.exports = { addDouble, storeDouble, explicitIndex, exponentialIndex };
