// SPDX-License-Identifier: Apache-2.0
package shmstats

// The package-level constructors register in DefaultSegment, as client_golang's
// register in its default registry.

func onDefault[T any](f func(*Segment) (T, error)) (T, error) {
	s, err := DefaultSegment()
	if err != nil {
		var zero T
		return zero, err
	}
	return f(s)
}

// NewCounter registers a counter in DefaultSegment.
func NewCounter(opts CounterOpts) (*Counter, error) {
	return onDefault(func(s *Segment) (*Counter, error) { return s.NewCounter(opts) })
}

// NewCounterVec registers a counter family in DefaultSegment.
func NewCounterVec(opts CounterOpts, labelNames []string) (*CounterVec, error) {
	return onDefault(func(s *Segment) (*CounterVec, error) { return s.NewCounterVec(opts, labelNames) })
}

// NewGauge registers a gauge in DefaultSegment.
func NewGauge(opts GaugeOpts) (*Gauge, error) {
	return onDefault(func(s *Segment) (*Gauge, error) { return s.NewGauge(opts) })
}

// NewGaugeVec registers a gauge family in DefaultSegment.
func NewGaugeVec(opts GaugeOpts, labelNames []string) (*GaugeVec, error) {
	return onDefault(func(s *Segment) (*GaugeVec, error) { return s.NewGaugeVec(opts, labelNames) })
}

// NewHistogram registers a histogram in DefaultSegment.
func NewHistogram(opts HistogramOpts) (*Histogram, error) {
	return onDefault(func(s *Segment) (*Histogram, error) { return s.NewHistogram(opts) })
}

// NewHistogramVec registers a histogram family in DefaultSegment.
func NewHistogramVec(opts HistogramOpts, labelNames []string) (*HistogramVec, error) {
	return onDefault(func(s *Segment) (*HistogramVec, error) {
		return s.NewHistogramVec(opts, labelNames)
	})
}

// MustNewCounter is NewCounter that panics on error.
func MustNewCounter(opts CounterOpts) *Counter { return must(NewCounter(opts)) }

// MustNewCounterVec is NewCounterVec that panics on error.
func MustNewCounterVec(opts CounterOpts, labelNames []string) *CounterVec {
	return must(NewCounterVec(opts, labelNames))
}

// MustNewGauge is NewGauge that panics on error.
func MustNewGauge(opts GaugeOpts) *Gauge { return must(NewGauge(opts)) }

// MustNewGaugeVec is NewGaugeVec that panics on error.
func MustNewGaugeVec(opts GaugeOpts, labelNames []string) *GaugeVec {
	return must(NewGaugeVec(opts, labelNames))
}

// MustNewHistogram is NewHistogram that panics on error.
func MustNewHistogram(opts HistogramOpts) *Histogram { return must(NewHistogram(opts)) }

// MustNewHistogramVec is NewHistogramVec that panics on error.
func MustNewHistogramVec(opts HistogramOpts, labelNames []string) *HistogramVec {
	return must(NewHistogramVec(opts, labelNames))
}
