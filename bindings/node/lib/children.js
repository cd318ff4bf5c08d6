// SPDX-License-Identifier: Apache-2.0
'use strict';
// One series each: what labels() returns and what an unlabelled metric records
// into. The methods here are the recording hot path: they never throw, allocate
// nothing for the common calls, and make no call into the addon.

function now() {
  return performance.now();
}

// Returns end(...args): passes the seconds since timer() and args to record, and
// returns the seconds.
function timer(record) {
  const start = now();
  return (...args) => {
    const seconds = (now() - start) / 1000;
    record(seconds, ...args);
    return seconds;
  };
}

class Child {
  constructor(series) {
    this._bind(series.slots);
    this._at = series.offset; // byte offset of the slots in the segment (wasm.js)
    this._wasm = series.wasm;
  }

  // After the segment is closed: records go to private memory, never to an unmapped page.
  _unbind() {
    this._bind(new ArrayBuffer(this._bytes));
  }

  _bind(buffer) {
    this._bytes = buffer.byteLength;
  }
}

class CounterChild extends Child {
  _bind(buffer) {
    super._bind(buffer);
    this._u64 = new BigUint64Array(buffer, 0, 1);
    this._carry = this._carry || 0;
  }

  // Adds n (default 1). Integers are added exactly (modulo 2^64, as in C); fractions
  // accumulate in this process and reach the slot as whole units. Negative, NaN,
  // infinite and >= 2^64 amounts are ignored (recording never throws).
  inc(n) {
    if (n === undefined) this._wasm.a(this._at, 1);
    else this._add(n);
  }

  _add(n) {
    if (Number.isInteger(n) && n >= 0) {
      if (n < 2 ** 64) this._wasm.a(this._at, n); // an integer double: exact
      return;
    }
    if (!(n > 0) || n === Infinity) return;
    const carry = this._carry + n;
    const whole = Math.floor(carry);
    this._carry = carry - whole;
    if (whole > 0) this._wasm.a(this._at, whole);
  }

  _read() {
    return Number(Atomics.load(this._u64, 0)) + this._carry;
  }
}

class GaugeChild extends Child {
  _bind(buffer) {
    super._bind(buffer);
    this._f64 = new Float64Array(buffer, 0, 1);
  }

  // A plain store: V8 writes a Float64Array element with one aligned 8-byte store,
  // which x86-64 and arm64 make single-copy atomic (readers never see half of it).
  set(v) {
    this._f64[0] = +v;
  }

  inc(n) {
    this._wasm.f(this._at, n === undefined ? 1 : +n);
  }

  dec(n) {
    this._wasm.f(this._at, n === undefined ? -1 : -n);
  }

  setToCurrentTime() {
    this.set(Date.now() / 1000);
  }

  // Returns end(): sets the gauge to the seconds since startTimer() and returns them.
  startTimer() {
    return timer((seconds) => this.set(seconds));
  }

  _read() {
    return this._f64[0];
  }
}

// A histogram. Each bucket layout has its own subclass (histogramChild), whose
// observe(v) calls that layout's WebAssembly function (wasm.js instantiateLayout:
// the bucket index and the record, in one call).
class HistogramChild extends Child {
  _bind(buffer) {
    super._bind(buffer);
    this._u64 = new BigUint64Array(buffer); // [sum bits][bucket 0 ... +Inf]
    this._f64 = new Float64Array(buffer);
  }

  // Returns end(): observes the seconds since startTimer() and returns them.
  startTimer() {
    return timer((seconds) => this.observe(seconds));
  }

  _read() {
    const buckets = [];
    let count = 0;
    for (let i = 1; i < this._u64.length; ++i) {
      const c = Number(Atomics.load(this._u64, i));
      buckets.push(c);
      count += c;
    }
    return { sum: this._f64[0], count, buckets };
  }
}

// observe(v) for the layout whose WebAssembly function is o (wasm.js
// instantiateLayout): counts v in its bucket and adds it to the sum; NaN and
// non-numbers are ignored.
function makeObserve(o) {
  return function observe(v) {
    if (typeof v !== 'number' || v !== v) return;
    o(this._at, v);
  };
}

// A subclass per layout, with an observe made by a copy of makeObserve compiled from
// its source for that layout, so that V8 sees one WebAssembly function per observe (it
// inlines a call into WebAssembly only where the call has seen one function) and one
// class per layout where a call site observes into several (it inlines up to four
// classes' methods there). One observe shared by all layouts calls every layout's
// function once a program has two layouts: measured 1.4x the cost of each observe
// (bench/node). Where code generation from strings is disallowed
// (--disallow-code-generation-from-strings), makeObserve itself: the same, slower there.
const histogramClasses = new WeakMap(); // layout (native.js) -> subclass
function histogramChild(series) {
  let Class = histogramClasses.get(series.layout);
  if (Class === undefined) {
    let make = makeObserve;
    try {
      make = new Function(`'use strict'; return ${makeObserve};`)();
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
    }
    Class = class extends HistogramChild {};
    Class.prototype.observe = make(series.layout.o);
    histogramClasses.set(series.layout, Class);
  }
  return new Class(series);
}

module.exports = {
  CounterChild, GaugeChild, histogramChild, now, timer,
};
