// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"math"
	"sync/atomic"
	"time"
)

// Gauge holds a float64 (its bits in a uint64 slot): negative and fractional
// values are fine. Set stores; Add and friends add atomically (a compare-and-swap
// loop, since there is no atomic float add). Recording never fails.
type Gauge struct{ v *uint64 }

// Set stores v.
func (g *Gauge) Set(v float64) { atomic.StoreUint64(g.v, math.Float64bits(v)) }

// Add adds v (negative to subtract).
func (g *Gauge) Add(v float64) { addFloat(g.v, v) }

// Sub subtracts v.
func (g *Gauge) Sub(v float64) { addFloat(g.v, -v) }

// Inc adds 1.
func (g *Gauge) Inc() { addFloat(g.v, 1) }

// Dec subtracts 1.
func (g *Gauge) Dec() { addFloat(g.v, -1) }

// SetToCurrentTime sets the gauge to the Unix time in seconds.
func (g *Gauge) SetToCurrentTime() { g.Set(float64(time.Now().UnixNano()) / 1e9) }

// addFloat adds d to the float64 whose bits are at p, as the C library's
// shmstats_detail_add_double does.
func addFloat(p *uint64, d float64) {
	for {
		old := atomic.LoadUint64(p)
		if atomic.CompareAndSwapUint64(p, old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// NewGauge registers (finds or creates) the gauge opts names in s.
func (s *Segment) NewGauge(opts GaugeOpts) (*Gauge, error) {
	o := Opts(opts)
	return s.gauge(o.series())
}

// MustNewGauge is NewGauge that panics on error.
func (s *Segment) MustNewGauge(opts GaugeOpts) *Gauge { return must(s.NewGauge(opts)) }

func (s *Segment) gauge(sr series) (*Gauge, error) {
	p, err := registerSlot(s.c, &sr, typeGauge)
	if err != nil {
		return nil, err
	}
	return &Gauge{v: p}, nil
}

// GaugeVec is a gauge family with variable labels.
type GaugeVec struct{ *metricVec[*Gauge] }

// NewGaugeVec makes a family of gauges partitioned by labelNames.
func (s *Segment) NewGaugeVec(opts GaugeOpts, labelNames []string) (*GaugeVec, error) {
	o := Opts(opts)
	v, err := newMetricVec(o.series(), labelNames, s.gauge)
	return &GaugeVec{v}, err
}

// MustNewGaugeVec is NewGaugeVec that panics on error.
func (s *Segment) MustNewGaugeVec(opts GaugeOpts, labelNames []string) *GaugeVec {
	return must(s.NewGaugeVec(opts, labelNames))
}
