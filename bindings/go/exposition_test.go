// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// What Go records leaves the host as Prometheus text: statsctl export writes the
// exposition shmstatsd's /metrics serves (the same formatter), and promtool
// accepts it.
func TestPrometheusExpositionOfGoSeries(t *testing.T) {
	s := newSegment(t)
	v := s.MustNewCounterVec(CounterOpts{Name: "http_requests_total", Help: "Requests served"},
		[]string{"method", "code"})
	v.WithLabelValues("GET", "200").Add(3)
	h := s.MustNewHistogram(HistogramOpts{Name: "http_request_seconds", Help: "Latency",
		Buckets: []float64{0.1, 1}})
	h.Observe(0.05)
	h.Observe(0.5)
	h.Observe(5)
	s.MustNewGauge(GaugeOpts{Name: "queue_depth", Help: "Waiting"}).Set(-2.5)

	out, err := exec.Command(statsctl(t), "--segment", s.Name(), "export").Output()
	if err != nil {
		t.Fatalf("statsctl export: %v", err)
	}
	text := string(out)
	for _, line := range []string{
		"# TYPE http_requests_total counter",
		`http_requests_total{code="200",method="GET"} 3`,
		"# TYPE http_request_seconds histogram",
		`http_request_seconds_bucket{le="0.1"} 1`,
		`http_request_seconds_bucket{le="1.0"} 2`,
		`http_request_seconds_bucket{le="+Inf"} 3`,
		"http_request_seconds_sum 5.55",
		"http_request_seconds_count 3",
		"queue_depth -2.5",
	} {
		if !strings.Contains(text, line+"\n") {
			t.Errorf("the exposition lacks %q:\n%s", line, text)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: run scripts/setup.sh (package prometheus)")
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(out)
	if msg, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v: %s", err, msg)
	}
}
