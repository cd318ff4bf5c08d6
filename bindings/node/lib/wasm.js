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
//     ;; observe: counts 1 in the bucket at byte offset $bucket, adds v to the sum at
//     ;; $sum (f's loop written out: V8 does not inline the call).
//     (func (export "o") (param $sum i32) (param $bucket i32) (param $v f64) (local $old i64)
//       (drop (i64.atomic.rmw.add (local.get $bucket) (i64.const 1)))
//       (loop $retry
//         (local.set $old (i64.atomic.load (local.get $sum)))
//         (br_if $retry (i64.ne
//           (i64.atomic.rmw.cmpxchg (local.get $sum) (local.get $old)
//             (i64.reinterpret_f64 (f64.add (f64.reinterpret_i64 (local.get $old)) (local.get $v))))
//           (local.get $old)))))
//     ;; Adds n (an integer in [0, 2^64), as a double) to the counter at byte offset `at`.
//     (func (export "a") (param $at i32) (param $n f64)
//       (drop (i64.atomic.rmw.add (local.get $at) (i64.trunc_f64_u (local.get $n))))))
const BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  // type section: (i32 f64) -> (), (i32 i32 f64) -> ()
  0x01, 0x0c, 0x02, 0x60, 0x02, 0x7f, 0x7c, 0x00, 0x60, 0x03, 0x7f, 0x7f, 0x7c, 0x00,
  // import section: memory "e" "m", no maximum, minimum 0
  0x02, 0x08, 0x01, 0x01, 0x65, 0x01, 0x6d, 0x02, 0x00, 0x00,
  // function section: f has type 0, o type 1, a type 0
  0x03, 0x04, 0x03, 0x00, 0x01, 0x00,
  // export section: "f" = function 0, "o" = function 1, "a" = function 2
  0x07, 0x0d, 0x03, 0x01, 0x66, 0x00, 0x00, 0x01, 0x6f, 0x00, 0x01, 0x01, 0x61, 0x00, 0x02,
  // code section, three bodies
  0x0a, 0x5f, 0x03,
  // f: one i64 local
  0x23, 0x01, 0x01, 0x7e,
  0x03, 0x40, //   loop
  0x20, 0x00, 0xfe, 0x11, 0x03, 0x00, 0x21, 0x02, // old = i64.atomic.load align=8 (at)
  0x20, 0x00, 0x20, 0x02, 0x20, 0x02, 0xbf, 0x20, 0x01, 0xa0, 0xbd, // at, old, bits(double(old) + d)
  0xfe, 0x49, 0x03, 0x00, // i64.atomic.rmw.cmpxchg align=8
  0x20, 0x02, 0x52, 0x0d, 0x00, // retry while the value seen != old
  0x0b, 0x0b, //   end loop, end
  // o: one i64 local; f's loop written out in it (a call costs more than the loop)
  0x2c, 0x01, 0x01, 0x7e,
  0x20, 0x01, 0x42, 0x01, 0xfe, 0x1f, 0x03, 0x00, 0x1a, // drop(i64.atomic.rmw.add(bucket, 1))
  0x03, 0x40, //   loop
  0x20, 0x00, 0xfe, 0x11, 0x03, 0x00, 0x21, 0x03, // old = i64.atomic.load align=8 (sum)
  0x20, 0x00, 0x20, 0x03, 0x20, 0x03, 0xbf, 0x20, 0x02, 0xa0, 0xbd, // sum, old, bits(double(old) + v)
  0xfe, 0x49, 0x03, 0x00, // i64.atomic.rmw.cmpxchg align=8
  0x20, 0x03, 0x52, 0x0d, 0x00, // retry while the value seen != old
  0x0b, 0x0b, //   end loop, end
  // a: no locals
  0x0c, 0x00,
  0x20, 0x00, 0x20, 0x01, 0xb1, 0xfe, 0x1f, 0x03, 0x00, 0x1a, // drop(i64.atomic.rmw.add(at, u64(n)))
  0x0b,
]);

let compiled = null;

// The module's functions over `memory`: f(at, d) adds d to the double at byte `at`;
// o(sum, bucket, v) is a histogram's observe of v at those byte offsets; a(at, n)
// adds the integer n to the counter at byte `at`.
function instantiate(memory) {
  if (compiled === null) compiled = new WebAssembly.Module(BYTES);
  return new WebAssembly.Instance(compiled, { e: { m: memory } }).exports;
}

module.exports = { instantiate };
