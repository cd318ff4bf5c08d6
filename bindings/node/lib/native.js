// SPDX-License-Identifier: Apache-2.0
'use strict';
// The addon (set-up only) and the segments this process has opened.
const path = require('path');
const wasm = require('./wasm');

const addon = require(process.env.SHMSTATS_NODE_ADDON ||
                      path.join(__dirname, '..', 'build', 'Release', 'shmstats.node'));

const TYPE = { counter: 1, gauge: 2, histogram: 3 };
const BUCKETS = { exponential: 0, explicit: 1 };
const SCOPE = { shared: 0, process: 1 };

function defaultSegmentName() {
  return process.env.SHMSTATS_SEGMENT || 'shmstats';
}

// One open segment: the addon's handle and the series registered from it, by key,
// so that registering a series twice hands out the same slots (one ArrayBuffer per
// series) and close() can point every handle away from the mapping first.
class Segment {
  constructor(name) {
    this.name = name;
    this.handle = addon.open(name);
    // key -> { slots, offset, kind, wasm, users, and a histogram's layout: its
    // bucket layout's functions (wasm.js instantiateLayout) }
    this.series = new Map();
    this.memory = null; // a WebAssembly.Memory over which the segment is mapped again
    this.wasm = null; // wasm.js's functions on that memory
    this.tail = 0; // byte offset of the memory's last page: this process's own, not the segment
    this.cellsAt = new Map(); // precision -> byte offset of its cells in the tail
    this.layouts = new Map(); // layout -> wasm.js instantiateLayout's functions
  }

  // wasm.js's functions on this segment, mapping it into a WebAssembly.Memory first.
  // The memory has one page more than the segment needs: the library's tables of
  // native cells are copied there, where the exponential index reads them.
  _wasm(slots) {
    if (this.wasm === null) {
      const pages = Math.ceil(addon.segmentSize(slots) / 65536);
      if (pages >= 65536) throw new Error(`shmstats: segment ${this.name} is larger than 4 GiB`);
      const memory = new WebAssembly.Memory({ initial: pages + 1, maximum: pages + 1 });
      addon.mapInto(memory.buffer, slots);
      this.memory = memory;
      this.tail = pages * 65536;
      this.wasm = wasm.instantiate(memory);
    }
    return this.wasm;
  }

  // The bucket index and observe of a histogram layout (wasm.js instantiateLayout),
  // once per layout.
  _layout(layout) {
    const key = JSON.stringify(layout);
    let f = this.layouts.get(key);
    if (f === undefined) {
      f = wasm.instantiateLayout(this.memory, layout);
      this.layouts.set(key, f);
    }
    return f;
  }

  // An exponential layout from the addon's fields: the cells of precision `shift`
  // (2^(shift+1) u64s, at most 9 tables of 8 KiB in all) go once into the tail.
  _exponential(shift, coarseShift, minKey, last, zero, cells) {
    let cellsAt = this.cellsAt.get(shift);
    if (cellsAt === undefined) {
      cellsAt = this.tail + 8 * ((2 << shift) - 2);
      new Uint8Array(this.memory.buffer, cellsAt, cells.byteLength).set(new Uint8Array(cells));
      this.cellsAt.set(shift, cellsAt);
    }
    return this._layout({ kind: 'exponential', shift, coarseShift, minKey, last, zero, cellsAt });
  }

  // Registers (find-or-create) a series; throws a clear Error on bad input.
  register(type, name, labels, help, unit, scope, buckets) {
    const flat = [];
    for (const [k, v] of labels) flat.push(k, v);
    const key = [type, name, scope, ...flat].join('\u0000');
    let s = this.series.get(key);
    if (s === undefined) {
      const exp = buckets !== null && buckets.kind === 'exponential';
      const r = addon.register(
          this.handle, TYPE[type], name, flat, help || null, unit || null, SCOPE[scope],
          buckets === null ? 0 : BUCKETS[buckets.kind], exp || buckets === null ? null : buckets.bounds,
          exp ? buckets.min : 0, exp ? buckets.max : 0, exp ? buckets.schema : 0,
          exp ? buckets.zeroThreshold : 0);
      s = { slots: r[0], kind: r[1], offset: r[5], wasm: this._wasm(r[0]), layout: null,
            users: new Set() };
      if (r[8] !== null) s.layout = this._exponential(r[2], r[6], r[3], r[4], r[7], r[8]);
      else if (buckets !== null) s.layout = this._layout({ kind: 'explicit', bounds: Array.from(buckets.bounds) });
      this.series.set(key, s);
    }
    return s;
  }

  close() {
    for (const s of this.series.values()) for (const u of s.users) u._unbind();
    this.series.clear();
    if (this.memory !== null) addon.unmapFrom(this.memory.buffer);
    addon.close(this.handle);
    this.handle = null;
  }
}

const segments = new Map();

// The segment of that name (default: $SHMSTATS_SEGMENT or "shmstats"), opened once
// per process and created with the library's defaults if it does not exist.
function segment(name) {
  name = name || defaultSegmentName();
  let s = segments.get(name);
  if (s === undefined) {
    s = new Segment(name);
    segments.set(name, s);
  }
  return s;
}

// Unmaps a segment: the handles registered from it record nowhere from then on.
function closeSegment(name) {
  name = name || defaultSegmentName();
  const s = segments.get(name);
  if (s !== undefined) {
    segments.delete(name);
    s.close();
  }
}

module.exports = { addon, segment, closeSegment, defaultSegmentName, SCOPE };
