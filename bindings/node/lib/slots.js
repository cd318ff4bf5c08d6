'use strict';
// Recording on a series' integer slots and the bucket index: the hot path, in
// JavaScript on typed-array views of the mapped memory (no call into the addon, no
// system call, no lock), with the same effect on the slots as the C ABI's inline
// functions (shmstats/shmstats_c.h).
//
// Why not Atomics.add on a BigUint64Array: in Node.js 20 (V8 11.3) every 64-bit
// Atomics operation returns a freshly allocated BigInt, so a loop of them runs the
// garbage collector, which makes system calls. Integer slots are therefore updated
// through their low 32 bits (Int32Array): a compare-and-swap of the low word is a
// correct 64-bit increment whenever it does not carry, and the value in memory is
// right at every instant (readers and resets see no torn state); only a carry into
// the high word (once per 2^32 units) takes one 64-bit Atomics.add. Adding to a
// double needs a 64-bit compare-and-swap, which JavaScript has only on BigInt64Array
// (allocating): wasm.js does it instead. A gauge's set() is a plain Float64Array
// store (children.js).

// Scratch for reading a double's bits (little-endian hosts only: x86-64 and arm64
// Linux, which the segment format assumes).
const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const scratchI32 = new Int32Array(scratchF64.buffer);

// Adds n (an integer, 0 <= n <= 2^53) to the unsigned 64-bit slot i. `w` is an
// Int32Array and `u` a BigUint64Array over the same slots (little-endian: the low
// word of slot i is w[2 * i]).
function addInteger(w, u, i, n) {
  const lo = 2 * i;
  let seen = Atomics.load(w, lo);
  while ((seen >>> 0) + n <= 0xffffffff) {
    const prev = Atomics.compareExchange(w, lo, seen, (seen + n) | 0);
    if (prev === seen) return;
    seen = prev;
  }
  Atomics.add(u, i, BigInt(n)); // carries into the high word: one 64-bit add
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

module.exports = { addInteger, explicitIndex, exponentialIndex };
