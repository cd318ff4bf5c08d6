// SPDX-License-Identifier: Apache-2.0
package shmstats

// The only file that speaks C: segments and registration through libshmstats' C
// ABI. The handles' slot pointers come back as void*: cgo cannot translate the
// header's _Atomic slot type, and Go records on the addresses itself.

/*
#cgo CFLAGS: -I${SRCDIR}/../../libshm/include
#cgo LDFLAGS: -lshmstats
#include <stdlib.h>
#include <shmstats/shmstats_c.h>

// shmstats_last_error() is per thread and a goroutine may change threads between
// two cgo calls, so each wrapper copies the message in the same call.
static shmstats_status go_failed(shmstats_status st, char* err, size_t n) {
  if (st != SHMSTATS_OK) {
    strncpy(err, shmstats_last_error(), n - 1);
    err[n - 1] = 0;
  }
  return st;
}

static shmstats_status go_open(const char* name, int how, const shmstats_segment_options* o,
                               shmstats_segment** out, char* err, size_t n) {
  shmstats_status st = how == 0   ? shmstats_segment_open(name, 0, out)
                       : how == 1 ? shmstats_segment_create(name, o, out)
                                  : shmstats_segment_open_or_create(name, o, out);
  return go_failed(st, err, n);
}

static shmstats_status go_remove(const char* name, char* err, size_t n) {
  return go_failed(shmstats_segment_remove(name), err, n);
}

// Counters and gauges: the slot their handle points at.
static shmstats_status go_register_slot(shmstats_segment* s, const shmstats_metric_options* o,
                                        int type, void** slot, char* err, size_t n) {
  shmstats_status st;
  if (type == SHMSTATS_COUNTER) {
    shmstats_counter c;
    st = shmstats_register_counter(s, o, &c);
    *slot = (void*)c.slot;
  } else {
    shmstats_gauge g;
    st = shmstats_register_gauge(s, o, &g);
    *slot = (void*)g.slot;
  }
  return go_failed(st, err, n);
}

// Exponential histograms on Prometheus' native schema (the handle's table,
// coarse_shift and zero_bits) came with C ABI 0.4; nativeIndex needs them.
#if SHMSTATS_C_ABI_MAJOR == 0 && SHMSTATS_C_ABI_MINOR < 4
#error "bindings/go needs libshmstats' C ABI 0.4 or later (shmstats/shmstats_c.h)"
#endif

// A histogram handle as Go reads it; `raw` keeps the C handle itself for
// go_bucket_index.
typedef struct go_histogram {
  void* slots;
  const void* native; // exponential: the schema's table of 2^(shift+1) cells; else NULL
  int64_t min_key;
  int64_t last;
  int32_t shift;
  int32_t kind;
  int32_t coarse_shift;
  uint64_t zero_bits;
  unsigned char raw[sizeof(shmstats_histogram)];
} go_histogram;

static shmstats_status go_register_histogram(shmstats_segment* s,
                                             const shmstats_metric_options* o, go_histogram* out,
                                             char* err, size_t n) {
  shmstats_histogram h;
  shmstats_status st = shmstats_register_histogram(s, o, &h);
  if (st == SHMSTATS_OK) {
    memset(out, 0, sizeof *out);
    out->slots = (void*)h.slots;
    out->min_key = h.min_key;
    out->last = h.last;
    out->shift = h.shift;
    out->kind = h.kind;
    if (h.kind == SHMSTATS_HISTOGRAM_EXPONENTIAL) {
      out->native = h.native;
      out->coarse_shift = h.coarse_shift;
      out->zero_bits = h.zero_bits;
    }
    memcpy(out->raw, &h, sizeof h);
  }
  return go_failed(st, err, n);
}

static size_t go_bucket_index(const unsigned char* raw, double v) {
  shmstats_histogram h;
  memcpy(&h, raw, sizeof h);
  return shmstats_histogram_bucket_index(&h, v);
}

static shmstats_status go_retire_exited(shmstats_segment* s, uint32_t* retired, char* err,
                                        size_t n) {
  return go_failed(shmstats_segment_retire_exited(s, retired), err, n);
}
*/
import "C"

import (
	"unsafe"
)

const errLen = 512

func cError(st C.shmstats_status, err *[errLen]C.char) error {
	if st == C.SHMSTATS_OK {
		return nil
	}
	return &Error{Status: Status(st), Message: C.GoString(&err[0])}
}

// SegmentOptions sizes a segment at creation; zero fields take the library's
// defaults (4096 series, 2^18 slots, mode 0640, the creator's group).
type SegmentOptions struct {
	MaxMetrics uint32
	MaxSlots   uint32
	Mode       uint32
	Group      int64 // with GroupSet: the group the segment is given at creation
	GroupSet   bool  // false: the creator's group
}

func (o *SegmentOptions) c() *C.shmstats_segment_options {
	var co C.shmstats_segment_options
	C.shmstats_segment_options_init(&co)
	if o == nil {
		return &co
	}
	if o.MaxMetrics != 0 {
		co.max_metrics = C.uint32_t(o.MaxMetrics)
	}
	if o.MaxSlots != 0 {
		co.max_slots = C.uint32_t(o.MaxSlots)
	}
	if o.Mode != 0 {
		co.mode = C.uint32_t(o.Mode)
	}
	if o.GroupSet {
		co.group = C.int64_t(o.Group)
	}
	return &co
}

const (
	openExisting = iota
	openCreate
	openOrCreate
)

func openSegment(name string, how int, o *SegmentOptions) (*Segment, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var err [errLen]C.char
	var p *C.shmstats_segment
	st := C.go_open(cname, C.int(how), o.c(), &p, &err[0], errLen)
	if e := cError(st, &err); e != nil {
		return nil, e
	}
	return &Segment{c: p, name: name}, nil
}

// Remove deletes the segment called name (ErrNotFound if there is none).
func Remove(name string) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var err [errLen]C.char
	return cError(C.go_remove(cname, &err[0], errLen), &err)
}

func closeSegment(p *C.shmstats_segment) { C.shmstats_segment_close(p) }

func retireExited(p *C.shmstats_segment) (int, error) {
	var err [errLen]C.char
	var n C.uint32_t
	if e := cError(C.go_retire_exited(p, &n, &err[0], errLen), &err); e != nil {
		return 0, e
	}
	return int(n), nil
}

// cOptions is a series' registration options in C memory, freed by free().
type cOptions struct {
	o       C.shmstats_metric_options
	strings []*C.char
	labels  *C.shmstats_label
	bounds  *C.double
}

func (c *cOptions) str(s string) *C.char {
	p := C.CString(s)
	c.strings = append(c.strings, p)
	return p
}

func (c *cOptions) free() {
	for _, p := range c.strings {
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(c.labels))
	C.free(unsafe.Pointer(c.bounds))
}

func newCOptions(s *series) *cOptions {
	c := &cOptions{}
	C.shmstats_metric_options_init(&c.o)
	c.o.name = c.str(s.name)
	if s.help != "" {
		c.o.help = c.str(s.help)
	}
	if s.unit != "" {
		c.o.unit = c.str(s.unit)
	}
	if n := len(s.labels); n > 0 {
		c.labels = (*C.shmstats_label)(C.malloc(C.size_t(n) * C.sizeof_shmstats_label))
		ls := unsafe.Slice(c.labels, n)
		for i, l := range s.labels {
			ls[i].name = c.str(l.name)
			ls[i].value = c.str(l.value)
		}
		c.o.labels = c.labels
		c.o.n_labels = C.size_t(n)
	}
	if s.scope == ScopeProcess {
		c.o.scope = C.SHMSTATS_SCOPE_PROCESS
	}
	if b := s.buckets; b != nil {
		if b.Explicit != nil {
			c.o.bucket_kind = C.SHMSTATS_BUCKETS_EXPLICIT
			if n := len(b.Explicit); n > 0 {
				c.bounds = (*C.double)(C.malloc(C.size_t(n) * C.sizeof_double))
				for i, v := range b.Explicit {
					unsafe.Slice(c.bounds, n)[i] = C.double(v)
				}
			}
			c.o.bounds = c.bounds
			c.o.n_bounds = C.size_t(len(b.Explicit))
		} else {
			if b.PrecisionBits != 0 {
				c.o.schema = C.int32_t(b.PrecisionBits)
			}
			if b.Min != 0 {
				c.o.min = C.double(b.Min)
			}
			if b.Max != 0 {
				c.o.max = C.double(b.Max)
			}
		}
	}
	return c
}

// registerSlot registers a counter or gauge and returns its slot (stripe 0).
func registerSlot(seg *C.shmstats_segment, s *series, t C.int) (*uint64, error) {
	c := newCOptions(s)
	defer c.free()
	var err [errLen]C.char
	var slot unsafe.Pointer
	if e := cError(C.go_register_slot(seg, &c.o, t, &slot, &err[0], errLen), &err); e != nil {
		return nil, e
	}
	return (*uint64)(slot), nil
}

// histogramHandle is what registration tells Go about a histogram's slots.
type histogramHandle struct {
	slots       unsafe.Pointer // [sum][bucket 0 ... +Inf] of stripe 0
	native      unsafe.Pointer // exponential: the schema's table (library memory); else nil
	minKey      int64
	last        int64
	shift       int32
	kind        int32
	coarseShift int32
	zeroBits    uint64
	raw         []byte // the C handle, for libraryBucketIndex
}

func registerHistogram(seg *C.shmstats_segment, s *series) (*histogramHandle, error) {
	c := newCOptions(s)
	defer c.free()
	var err [errLen]C.char
	var h C.go_histogram
	if e := cError(C.go_register_histogram(seg, &c.o, &h, &err[0], errLen), &err); e != nil {
		return nil, e
	}
	return &histogramHandle{
		slots: h.slots, native: unsafe.Pointer(h.native), minKey: int64(h.min_key),
		last: int64(h.last), shift: int32(h.shift), kind: int32(h.kind),
		coarseShift: int32(h.coarse_shift), zeroBits: uint64(h.zero_bits),
		raw: C.GoBytes(unsafe.Pointer(&h.raw[0]), C.int(len(h.raw))),
	}, nil
}

// libraryBucketIndex is the C library's shmstats_histogram_bucket_index for this
// histogram: what the tests hold the Go index to, value for value.
func (h *histogramHandle) libraryBucketIndex(v float64) int {
	return int(C.go_bucket_index((*C.uchar)(unsafe.Pointer(&h.raw[0])), C.double(v)))
}

const (
	kindExponential = C.SHMSTATS_HISTOGRAM_EXPONENTIAL
	typeCounter     = C.SHMSTATS_COUNTER
	typeGauge       = C.SHMSTATS_GAUGE
)
