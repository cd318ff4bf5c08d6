// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"sync/atomic"
	"unsafe"
)

// Histogram counts observations in buckets (one atomic add on the bucket's slot)
// and adds them to a sum (a compare-and-swap loop on its float64 bits), as the C
// library does. Observe(NaN) is ignored. Recording never fails.
type Histogram struct {
	sum    *uint64
	counts []uint64         // per bucket, +Inf last: slots in the segment
	bounds []float64        // explicit bounds; nil for exponential buckets
	minKey int64            // exponential: native key of the first positive bucket
	last   int64            // exponential: the number of positive buckets
	shift  uint             // exponential: max(schema, 0)
	native *nativeSchema    // exponential: the rest of the layout; nil for explicit bounds
	handle *histogramHandle // as registered: the tests ask the library for its index through it
}

// Observe counts v. Both index functions are inlined here (one call in all).
func (h *Histogram) Observe(v float64) {
	if v != v {
		return
	}
	var i int
	if h.native != nil {
		i = nativeIndex(h.native, h.minKey, h.last, h.shift, v)
	} else {
		i = explicitIndex(h.bounds, v)
	}
	atomic.AddUint64(&h.counts[i], 1)
	addFloat(h.sum, v)
}

// NewHistogram registers (finds or creates) the histogram opts names in s.
func (s *Segment) NewHistogram(opts HistogramOpts) (*Histogram, error) {
	return s.histogram(opts.series())
}

// MustNewHistogram is NewHistogram that panics on error.
func (s *Segment) MustNewHistogram(opts HistogramOpts) *Histogram {
	return must(s.NewHistogram(opts))
}

func (s *Segment) histogram(sr series) (*Histogram, error) {
	hh, err := registerHistogram(s.c, &sr)
	if err != nil {
		return nil, err
	}
	h := &Histogram{sum: (*uint64)(hh.slots), handle: hh}
	n := len(sr.buckets.Explicit) + 1
	if hh.kind == kindExponential {
		h.minKey, h.last, h.shift = hh.minKey, hh.last, uint(hh.shift)
		h.native = &nativeSchema{
			cells:       unsafe.Slice((*uint64)(hh.native), 2<<hh.shift),
			coarseShift: uint(hh.coarseShift), zeroBits: hh.zeroBits}
		n = 2*int(hh.last) + 3 // negatives, zero, positives
	} else {
		h.bounds = sr.buckets.Explicit
	}
	h.counts = unsafe.Slice((*uint64)(unsafe.Add(hh.slots, 8)), n)
	return h, nil
}

// HistogramVec is a histogram family with variable labels.
type HistogramVec struct{ *metricVec[*Histogram] }

// NewHistogramVec makes a family of histograms partitioned by labelNames.
func (s *Segment) NewHistogramVec(opts HistogramOpts, labelNames []string) (*HistogramVec, error) {
	v, err := newMetricVec(opts.series(), labelNames, s.histogram)
	return &HistogramVec{v}, err
}

// MustNewHistogramVec is NewHistogramVec that panics on error.
func (s *Segment) MustNewHistogramVec(opts HistogramOpts, labelNames []string) *HistogramVec {
	return must(s.NewHistogramVec(opts, labelNames))
}
