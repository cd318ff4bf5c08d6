// SPDX-License-Identifier: Apache-2.0
'use strict';
// The recording instructions. A slot is 64 bits: JavaScript's 64-bit Atomics work
// only on BigInt64Array/BigUint64Array, where Node.js 20 allocates a BigInt for every
// value in and out, so that the garbage collector runs, and it makes system calls;
// and adding to a double needs a 64-bit compare-and-swap. WebAssembly has 64-bit
// atomics on plain i64 values, so these few instructions run on a WebAssembly.Memory
// over which the addon maps the segment a second time (native.js): no allocation, no
// system call, no native call (a call from JavaScript into WebAssembly is a few ns,
// measured in bench/node: a counter's add is faster than Atomics.add on an Int32Array).
//
// The module, assembled by hand (WebAssembly text):
//   (module
//     (import "e" "m" (memory 0))
//     ;; Adds d to the double at byte offset `at`: a compare-and-swap loop on its bits.
//     (func (export "f") (param $at i32) (param $d f64) (local $old i64)
//       (loop $retry
//         (local.set $old (i64.atomic.load (local.get $at)))
//         (br_if $retry (i64.ne
//           (i64.atomic.rmw.cmpxchg (local.get $at) (local.get $old)
//             (i64.reinterpret_f64 (f64.add (f64.reinterpret_i64 (local.get $old)) (local.get $d))))
//           (local.get $old)))))
//     ;; Adds n (an integer in [0, 2^64), as a double) to the counter at byte offset `at`.
//     (func (export "a") (param $at i32) (param $n f64)
//       (drop (i64.atomic.rmw.add (local.get $at) (i64.trunc_f64_u (local.get $n))))))
const BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  // type section: (i32 f64) -> ()
  0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7c, 0x00,
  // import section: memory "e" "m", no maximum, minimum 0
  0x02, 0x08, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00, 0x00,
  // function section: f and a have type 0
  0x03, 0x03, 0x02, 0x00, 0x00,
  // export section: "f" = function 0, "a" = function 1
  0x07, 0x09, 0x02, 0x01, 0x66, 0x00, 0x00, 0x01, 0x61, 0x00, 0x01,
  // code section, two bodies
  0x0a, 0x32, 0x02,
  // f: one i64 local
  0x23, 0x01, 0x01, 0x7e,
  0x03, 0x40, //   loop
  0x20, 0x00, 0xfe, 0x11, 0x03, 0x00, 0x21, 0x02, // old = i64.atomic.load align=8 (at)
  0x20, 0x00, 0x20, 0x02, 0x20, 0x02, 0xbf, 0x20, 0x01, 0xa0, 0xbd, // at, old, bits(double(old) + d)
  0xfe, 0x49, 0x03, 0x00, // i64.atomic.rmw.cmpxchg align=8
  0x20, 0x02, 0x52, 0x0d, 0x00, // retry while the value seen != old
  0x0b, 0x0b, //   end loop, end
  // a: no locals
  0x0c, 0x00,
  0x20, 0x00, 0x20, 0x01, 0xb1, 0xfe, 0x1f, 0x03, 0x00, 0x1a, // drop(i64.atomic.rmw.add(at, u64(n)))
  0x0b,
]);

let compiled = null;

// LEB128 encodings (the module's integers): unsigned, and signed (BigInt in).
function uleb(n) {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
function sleb(n) {
  n = BigInt(n);
  const out = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}
function zeroBits(x) {
  return new BigInt64Array(Float64Array.of(x).buffer)[0];
}
function f64Bytes(x) {
  return [...new Uint8Array(Float64Array.of(x).buffer)];
}

// Opcodes used below (WebAssembly 1.0 and the threads proposal's atomics).
const OP = {
  get: 0x20, set: 0x21, tee: 0x22, i32c: 0x41, i64c: 0x42, f64c: 0x44, select: 0x1b,
  drop: 0x1a, loop: 0x03, end: 0x0b, brIf: 0x0d, i32wrap: 0xa7, i32shl: 0x74, i32add: 0x6a,
  i64load: 0x29, i64and: 0x83, i64shl: 0x86, i64shrU: 0x88, i64add: 0x7c, i64sub: 0x7d,
  i64ne: 0x52, i64ltS: 0x53, i64gtS: 0x55, i64gtU: 0x56, i64extendI32U: 0xad,
  i64fromF64: 0xbd, f64fromI64: 0xbf, f64add: 0xa0, f64abs: 0x99, f64gt: 0x64, f64lt: 0x63,
  if: 0x04, else: 0x05, atomic: 0xfe, i64shrS: 0x87, i64xor: 0x85, globalGet: 0x23, i32sub: 0x6b,
};

// The native-schema bucket index of v (local `v`, f64) as an i32 left on the stack:
// shmstats_detail_exponential_index (the algorithm of docs/segment-format.md) with the
// layout's fields as constants: the octave from the exponent, the sub-bucket from one
// of the library's cells (copied to byte `cellsAt` of the memory) and one comparison,
// clamped to the range, mirrored about the zero bucket by sign. L names five i64
// locals: bits, mag (|v|'s bits), mantissa, cell, d.
function indexCode(layout, v, L) {
  const { shift, coarseShift, minKey, last, zero, cellsAt } = layout;
  const c = (x) => [OP.i64c, ...sleb(x)];
  return [
    OP.get, v, OP.i64fromF64, OP.tee, L.bits,
    ...c(0x7fffffffffffffffn), OP.i64and, OP.tee, L.mag,
    ...c((1n << 52n) - 1n), OP.i64and, OP.tee, L.mantissa,
    ...c(51 - shift), OP.i64shrU, OP.i32wrap, OP.i32c, 3, OP.i32shl,
    OP.i64load, 3, ...uleb(cellsAt), OP.set, L.cell,
    // d = (((((mag >> 52) + 1) << shift) + sub + 2^coarse - 1) >> coarse) - minKey + 1,
    // sub = (cell & 0x7ff) + (mantissa << 11 > cell)
    OP.get, L.mag, ...c(52), OP.i64shrU, ...c(1), OP.i64add, ...c(shift), OP.i64shl,
    OP.get, L.cell, ...c(0x7ff), OP.i64and, OP.i64add,
    OP.get, L.mantissa, ...c(11), OP.i64shl, OP.get, L.cell, OP.i64gtU, OP.i64extendI32U, OP.i64add,
    ...c(2 ** coarseShift - 1), OP.i64add, ...c(coarseShift), OP.i64shrU,
    ...c(1 - minKey), OP.i64add, OP.set, L.d,
    // d = min(max(d, 1), last + 1), or 0 (the zero bucket) when |v| <= zero (compared
    // as bits: non-negative doubles order as their bits do)
    ...c(1), OP.get, L.d, OP.get, L.d, ...c(1), OP.i64ltS, OP.select, OP.set, L.d,
    ...c(last + 1), OP.get, L.d, OP.get, L.d, ...c(last + 1), OP.i64gtS, OP.select,
    ...c(0), OP.get, L.mag, ...c(zeroBits(zero)), OP.i64gtU, OP.select, OP.set, L.d,
    // last + 1 + (d ^ neg) - neg, neg = v < 0 ? -1 : 0
    ...c(last + 1), OP.get, L.d, OP.get, L.bits, ...c(63), OP.i64shrS, OP.tee, L.bits, OP.i64xor,
    OP.i64add, OP.get, L.bits, OP.i64sub, OP.i32wrap,
  ];
}

// The explicit bucket index of v (local `v`, f64) as an i32 left on the stack: the
// first bound >= v, or bounds.length (+Inf), as shmstats_histogram_bucket_index; the
// number of bounds below v, counted without a branch: the bounds, in pairs, are the
// module's v128 globals (explicitGlobals), each pair compared with v at once (SIMD:
// a global is read from memory, a vector constant would be built in the code), in
// runs of at most 16 bounds, which a binary search over constants chooses between.
// `splat` is a v128 local. Comparisons only: -0 is not below 0, +-Inf are ordered.
const SIMD = 0xfd;
const V = { constant: 0x0c, splat: 0x14, lt: 0x49, add: [0xce, 0x01], lane: 0x1d };
function explicitCode(bounds, v, splat) {
  const run = (base, n) => {
    if (n <= 16) { // pairs base/2 ...: base is even, the odd tail's pad is +Inf
      const out = [];
      for (let k = base; k < base + n; k += 2) {
        out.push(OP.globalGet, ...uleb(k >>> 1), OP.get, splat, SIMD, V.lt);
        if (k > base) out.push(SIMD, ...V.add);
      }
      // each mask lane is -1 where the bound is below v: base - (lane 0 + lane 1)
      return [OP.i32c, ...sleb(base), ...out, OP.set, splat,
              OP.get, splat, SIMD, V.lane, 0, OP.get, splat, SIMD, V.lane, 1, OP.i64add,
              OP.i32wrap, OP.i32sub];
    }
    const half = ((n + 1) >>> 1) & ~1; // an even count, so that every run starts a pair
    return [OP.f64c, ...f64Bytes(bounds[base + half - 1]), OP.get, v, OP.f64lt,
            OP.if, 0x7f, ...run(base + half, n - half), OP.else, ...run(base, half), OP.end];
  };
  if (bounds.length === 0) return [OP.i32c, 0];
  return [OP.get, v, SIMD, V.splat, OP.set, splat, ...run(0, bounds.length)];
}

// The global section of explicitCode's module: the bounds in pairs, as immutable
// v128 globals, the last padded with +Inf (never below v).
function explicitGlobals(bounds) {
  const out = [...uleb((bounds.length + 1) >>> 1)];
  for (let k = 0; k < bounds.length; k += 2) {
    out.push(0x7b, 0, SIMD, V.constant, ...f64Bytes(bounds[k]),
             ...f64Bytes(k + 1 < bounds.length ? bounds[k + 1] : Infinity), OP.end);
  }
  return out;
}

// A section: its id, then its bytes, length first.
function section(id, bytes) {
  return [id, ...uleb(bytes.length), ...bytes];
}
// A function body with `locals` i64 locals, then one v128 local.
function body(locals, code) {
  const b = [2, locals, 0x7e, 1, 0x7b, ...code, OP.end];
  return [...uleb(b.length), ...b];
}

// A histogram layout's functions over `memory`, compiled once per layout: i(v) is
// v's bucket index; o(sum, v) observes v in the series whose slots start at byte
// `sum` (the sum, then the buckets): the bucket's index, its add, then the sum's
// compare-and-swap. The index comes first because it reads memory (the exponential
// cells, the explicit bounds as globals), and loads issued after a locked instruction
// wait for it; the add comes before the compare-and-swap, whose load-add-swap chain
// then starts as soon as the add is done (measured on a 2-vCPU AMD EPYC against the C
// library's order, the sum's compare-and-swap before the index: each of the two moves
// saved 0.1-0.9 ns per observe, out of 12).
// Readers see the bucket's count a moment before the sum either way: the two are never
// one atomic update. layout: { kind: 'explicit', bounds } or { kind: 'exponential',
// shift, coarseShift, minKey, last, zero, cellsAt } (the handle's fields, and where its
// cells are in the memory).
const layoutModules = new Map();
function instantiateLayout(memory, layout) {
  const key = JSON.stringify(layout);
  let module = layoutModules.get(key);
  if (module === undefined) {
    const index = (v, L) => (layout.kind === 'explicit'
      ? explicitCode(layout.bounds, v, L.splat) : indexCode(layout, v, L));
    const observe = [
      OP.get, 0, ...index(1, { bits: 3, mag: 4, mantissa: 5, cell: 6, d: 7, splat: 8 }),
      OP.i32c, 3, OP.i32shl, OP.i32add,
      OP.i64c, 1, OP.atomic, 0x1f, 3, 8, OP.drop, // i64.atomic.rmw.add(sum + 8 + 8 * index, 1)
      OP.loop, 0x40,
      OP.get, 0, OP.atomic, 0x11, 3, 0, OP.set, 2, // old = i64.atomic.load(sum)
      OP.get, 0, OP.get, 2, OP.get, 2, OP.f64fromI64, OP.get, 1, OP.f64add, OP.i64fromF64,
      OP.atomic, 0x49, 3, 0, // i64.atomic.rmw.cmpxchg(sum, old, bits(double(old) + v))
      OP.get, 2, OP.i64ne, OP.brIf, 0, // retry while the value seen != old
      OP.end,
    ];
    module = new WebAssembly.Module(Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, [2, 0x60, 1, 0x7c, 1, 0x7f, 0x60, 2, 0x7f, 0x7c, 0]), // (f64)->i32, (i32 f64)->()
      ...section(2, [1, 1, 0x65, 1, 0x6d, 2, 0, 0]), // import memory "e" "m", minimum 0
      ...section(3, [2, 0, 1]),
      ...(layout.kind === 'explicit' ? section(6, explicitGlobals(layout.bounds)) : []),
      ...section(7, [2, 1, 0x69, 0, 0, 1, 0x6f, 0, 1]), // export "i", "o"
      ...section(10, [2, ...body(5, index(0, { bits: 1, mag: 2, mantissa: 3, cell: 4, d: 5, splat: 6 })),
                      ...body(6, observe)]),
    ]));
    layoutModules.set(key, module);
  }
  return new WebAssembly.Instance(module, { e: { m: memory } }).exports;
}

// The module's functions over `memory`: f(at, d) adds d to the double at byte `at`;
// a(at, n) adds the integer n to the counter at byte `at`. (Histograms record with
// instantiateLayout's functions.)
function instantiate(memory) {
  if (compiled === null) compiled = new WebAssembly.Module(BYTES);
  return new WebAssembly.Instance(compiled, { e: { m: memory } }).exports;
}

module.exports = { instantiate, instantiateLayout };
