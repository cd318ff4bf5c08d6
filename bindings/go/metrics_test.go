// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestCounterIncAddAndFractions(t *testing.T) {
	s := newSegment(t)
	c := s.MustNewCounter(CounterOpts{Namespace: "app", Name: "jobs_total", Help: "jobs done",
		ConstLabels: Labels{"host": "a"}})
	c.Inc()
	c.Add(2)
	c.AddUint64(1 << 40)
	for i := 0; i < 4; i++ {
		c.Add(0.25) // the fractions add up to one whole increment
	}
	c.Add(-5)         // ignored: a counter never goes down
	c.Add(math.NaN()) // ignored
	if got, want := counterValue(t, s, `app_jobs_total{host="a"}`), uint64(4+1<<40); got != want {
		t.Fatalf("counter = %d, want %d", got, want)
	}
	m := getOne(t, s, "app_jobs_total")
	if m.Help != "jobs done" || m.Labels["host"] != "a" {
		t.Fatalf("help and labels not kept: %+v", m)
	}
}

func TestGaugeSetIncDecAddSub(t *testing.T) {
	s := newSegment(t)
	g := s.MustNewGauge(GaugeOpts{Name: "temperature", Unit: "celsius"})
	g.Set(-3.5)
	g.Inc()
	g.Inc()
	g.Dec()
	g.Add(10.25)
	g.Sub(0.75)
	if got := gaugeValue(t, s, "temperature"); got != 7 {
		t.Fatalf("gauge = %v, want 7", got)
	}
	g.SetToCurrentTime()
	if got := gaugeValue(t, s, "temperature"); math.Abs(got-float64(time.Now().Unix())) > 3600 {
		t.Fatalf("SetToCurrentTime gave %v", got)
	}
}

func TestHistogramExplicitBuckets(t *testing.T) {
	s := newSegment(t)
	h := s.MustNewHistogram(HistogramOpts{Name: "size_bytes", Buckets: []float64{10, 100, 1000}})
	for _, v := range []float64{-1, 0, 10, 10.5, 100, 999, 1000, 1001, 5000, math.NaN()} {
		h.Observe(v) // NaN is ignored
	}
	counts, count, sum := bucketCounts(t, s, "size_bytes")
	want := []uint64{3, 2, 2, 2} // (..10] (10..100] (100..1000] (1000..+Inf)
	if !equal(counts, want) || count != 9 || sum != 8119.5 {
		t.Fatalf("buckets %v count %d sum %v, want %v count 9 sum 8119.5", counts, count, sum, want)
	}
}

func TestHistogramExponentialBuckets(t *testing.T) {
	s := newSegment(t)
	h := s.MustNewHistogram(HistogramOpts{Name: "latency_seconds", Min: 1, Max: 1e4,
		PrecisionBits: 4})
	values := []float64{0.5, 1, 1.5, 2, 3, 100, 5000, 20000}
	sum := 0.0
	for _, v := range values {
		h.Observe(v)
		sum += v
	}
	m := getOne(t, s, "latency_seconds")
	counts, count, gotSum := bucketCounts(t, s, "latency_seconds")
	if count != uint64(len(values)) || gotSum != sum {
		t.Fatalf("count %d sum %v, want %d and %v", count, gotSum, len(values), sum)
	}
	// Each value is in the first bucket whose bound is >= it, as statsctl reads.
	want := make([]uint64, len(counts))
	for _, v := range values {
		i := 0
		for i < len(m.Histogram.Buckets)-1 && leValue(t, m.Histogram.Buckets[i].Le) < v {
			i++
		}
		want[i]++
	}
	if !equal(counts, want) {
		t.Fatalf("buckets %v, want %v", counts, want)
	}
}

func TestVecLabels(t *testing.T) {
	s := newSegment(t)
	v := s.MustNewCounterVec(CounterOpts{Name: "requests_total"}, []string{"method", "code"})
	v.WithLabelValues("GET", "200").Inc()
	v.WithLabelValues("GET", "200").Add(2)
	v.With(Labels{"code": "500", "method": "POST"}).Inc()
	if v.WithLabelValues("GET", "200") != v.With(Labels{"method": "GET", "code": "200"}) {
		t.Fatal("the same labels gave two children")
	}
	if got := counterValue(t, s, `requests_total{method="GET",code="200"}`); got != 3 {
		t.Fatalf("GET 200 = %d, want 3", got)
	}
	if got := counterValue(t, s, `requests_total{method="POST",code="500"}`); got != 1 {
		t.Fatalf("POST 500 = %d, want 1", got)
	}
	if _, err := v.GetMetricWithLabelValues("GET"); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("one value for two labels: %v", err)
	}
	if _, err := v.GetMetricWith(Labels{"method": "GET"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("a missing label: %v", err)
	}
	if _, err := v.GetMetricWith(Labels{"method": "GET", "code": "1", "x": "y"}); err == nil {
		t.Fatal("an extra label was accepted")
	}
	if _, err := s.NewCounterVec(CounterOpts{Name: "x_total"}, []string{"a", "a"}); err == nil {
		t.Fatal("a label name given twice was accepted")
	}

	g := s.MustNewGaugeVec(GaugeOpts{Name: "queue_depth"}, []string{"queue"})
	g.WithLabelValues("mail").Set(4)
	h := s.MustNewHistogramVec(HistogramOpts{Name: "op_seconds", Buckets: []float64{1, 2}},
		[]string{"op"})
	h.WithLabelValues("read").Observe(1.5)
	if got := gaugeValue(t, s, `queue_depth{queue="mail"}`); got != 4 {
		t.Fatalf("gauge child = %v", got)
	}
	if counts, _, _ := bucketCounts(t, s, `op_seconds{op="read"}`); !equal(counts, []uint64{0, 1, 0}) {
		t.Fatalf("histogram child buckets %v", counts)
	}
}

func TestTimerObservesElapsedSeconds(t *testing.T) {
	s := newSegment(t)
	h := s.MustNewHistogram(HistogramOpts{Name: "work_seconds", Buckets: []float64{1e-3, 1, 60}})
	timer := NewTimer(h)
	start := time.Now()
	for time.Since(start) < 2*time.Millisecond {
	}
	d := timer.ObserveDuration()
	if d < 2*time.Millisecond {
		t.Fatalf("ObserveDuration returned %v, less than the time spent", d)
	}
	counts, count, sum := bucketCounts(t, s, "work_seconds")
	if count != 1 || sum != d.Seconds() || counts[0] != 0 {
		t.Fatalf("count %d sum %v buckets %v, want one observation of %v", count, sum, counts, d)
	}
	var got float64
	NewTimer(ObserverFunc(func(v float64) { got = v })).ObserveDuration()
	if got < 0 {
		t.Fatalf("ObserverFunc got %v", got)
	}
}

func TestSetUpErrors(t *testing.T) {
	s := newSegment(t)
	s.MustNewCounter(CounterOpts{Name: "thing_total"})
	if _, err := s.NewGauge(GaugeOpts{Name: "thing_total"}); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("a gauge over a counter: %v", err)
	}
	_, err := s.NewCounter(CounterOpts{Name: "bad name"})
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusInvalidArgument || e.Message == "" {
		t.Fatalf("an invalid name: %v", err)
	}
	if _, err := Open("shmstats_go_test_no_such_segment"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("opening a missing segment: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("MustNewGauge did not panic on a type mismatch")
		}
	}()
	s.MustNewGauge(GaugeOpts{Name: "thing_total"})
}

func TestDefaultSegmentFromEnvironment(t *testing.T) {
	s := newSegment(t)
	t.Setenv("SHMSTATS_SEGMENT", s.Name())
	c, err := NewCounter(CounterOpts{Name: "default_total"})
	if err != nil {
		t.Fatal(err)
	}
	c.Inc()
	if got := counterValue(t, s, "default_total"); got != 1 {
		t.Fatalf("default segment counter = %d", got)
	}
}

// leValue is a finite bucket bound of statsctl's JSON.
func leValue(t *testing.T, le any) float64 {
	n, ok := le.(json.Number)
	f, err := n.Float64()
	if !ok || err != nil {
		t.Fatalf("bound %v is not a number", le)
	}
	return f
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
