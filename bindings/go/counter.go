// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"math"
	"sync/atomic"
)

// Counter is a monotonic counter: a uint64 slot in the segment, exact to 2^64.
// Fractional increments are carried in this process until they add up to a whole
// one, as prometheus_client and the Python binding do. Recording never fails.
type Counter struct {
	v     *uint64
	carry uint64 // float64 bits: the fraction not yet added, this process only
}

// Inc adds 1.
func (c *Counter) Inc() { atomic.AddUint64(c.v, 1) }

// AddUint64 adds n exactly.
func (c *Counter) AddUint64(n uint64) { atomic.AddUint64(c.v, n) }

// Add adds v; a negative, NaN or infinite v is ignored (a counter never goes down;
// client_golang panics there, recording here never fails).
func (c *Counter) Add(v float64) {
	if v >= 0 && v < 1<<64 && v == math.Trunc(v) {
		atomic.AddUint64(c.v, uint64(v))
		return
	}
	if !(v >= 0) || math.IsInf(v, 1) {
		return
	}
	c.addFraction(v)
}

func (c *Counter) addFraction(v float64) {
	for {
		old := atomic.LoadUint64(&c.carry)
		sum := math.Float64frombits(old) + v
		whole := math.Floor(sum)
		if atomic.CompareAndSwapUint64(&c.carry, old, math.Float64bits(sum-whole)) {
			if whole > 0 {
				atomic.AddUint64(c.v, uint64(whole))
			}
			return
		}
	}
}

// NewCounter registers (finds or creates) the counter opts names in s.
func (s *Segment) NewCounter(opts CounterOpts) (*Counter, error) {
	o := Opts(opts)
	return s.counter(o.series())
}

// MustNewCounter is NewCounter that panics on error.
func (s *Segment) MustNewCounter(opts CounterOpts) *Counter { return must(s.NewCounter(opts)) }

func (s *Segment) counter(sr series) (*Counter, error) {
	p, err := registerSlot(s.c, &sr, typeCounter)
	if err != nil {
		return nil, err
	}
	return &Counter{v: p}, nil
}

// CounterVec is a counter family with variable labels.
type CounterVec struct{ *metricVec[*Counter] }

// NewCounterVec makes a family of counters partitioned by labelNames; each label
// combination is registered on its first use.
func (s *Segment) NewCounterVec(opts CounterOpts, labelNames []string) (*CounterVec, error) {
	o := Opts(opts)
	v, err := newMetricVec(o.series(), labelNames, s.counter)
	return &CounterVec{v}, err
}

// MustNewCounterVec is NewCounterVec that panics on error.
func (s *Segment) MustNewCounterVec(opts CounterOpts, labelNames []string) *CounterVec {
	return must(s.NewCounterVec(opts, labelNames))
}
