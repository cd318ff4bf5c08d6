// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
)

var segmentSeq int64

// newSegment creates a fresh segment for one test and removes it at the end.
func newSegment(t *testing.T) *Segment {
	t.Helper()
	name := fmt.Sprintf("shmstats_go_test_%d_%d", os.Getpid(), atomic.AddInt64(&segmentSeq, 1))
	s, err := Create(name, &SegmentOptions{MaxMetrics: 256, MaxSlots: 1 << 16})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		s.Close()
		_ = Remove(name)
	})
	return s
}

// readMetric is one metric of `statsctl get --json`.
type readMetric struct {
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	Type      string            `json:"type"`
	Help      string            `json:"help"`
	Unit      string            `json:"unit"`
	Value     json.Number       `json:"value"`
	Histogram *struct {
		Count   json.Number `json:"count"`
		Sum     float64     `json:"sum"`
		Buckets []struct {
			Le    any         `json:"le"`
			Count json.Number `json:"count"`
		} `json:"buckets"`
	} `json:"histogram"`
}

func statsctl(t *testing.T) string {
	t.Helper()
	p := os.Getenv("STATSCTL")
	if p == "" {
		t.Fatal("STATSCTL must name the build's statsctl (ctest sets it)")
	}
	return p
}

// statsctlGet runs the build's `statsctl get SELECTOR --json` on s.
func statsctlGet(t *testing.T, s *Segment, selector string) []readMetric {
	t.Helper()
	cmd := exec.Command(statsctl(t), "--segment", s.Name(), "get", selector, "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("statsctl get %s: %v: %s", selector, err, stderr.String())
	}
	var doc struct {
		Metrics []readMetric `json:"metrics"`
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("statsctl get %s: %v in %s", selector, err, out)
	}
	return doc.Metrics
}

// getOne is the one series selector names.
func getOne(t *testing.T, s *Segment, selector string) readMetric {
	t.Helper()
	ms := statsctlGet(t, s, selector)
	if len(ms) != 1 {
		t.Fatalf("statsctl get %s: %d series, want 1: %+v", selector, len(ms), ms)
	}
	return ms[0]
}

func counterValue(t *testing.T, s *Segment, selector string) uint64 {
	t.Helper()
	m := getOne(t, s, selector)
	v, err := strconv.ParseUint(m.Value.String(), 10, 64)
	if err != nil || m.Type != "counter" {
		t.Fatalf("%s: not a counter value: %+v", selector, m)
	}
	return v
}

func gaugeValue(t *testing.T, s *Segment, selector string) float64 {
	t.Helper()
	m := getOne(t, s, selector)
	v, err := m.Value.Float64()
	if err != nil || m.Type != "gauge" {
		t.Fatalf("%s: not a gauge value: %+v", selector, m)
	}
	return v
}

// bucketCounts is a histogram's per-bucket (not cumulative) counts, +Inf last,
// with its count and sum.
func bucketCounts(t *testing.T, s *Segment, selector string) (counts []uint64, count uint64, sum float64) {
	t.Helper()
	m := getOne(t, s, selector)
	if m.Histogram == nil {
		t.Fatalf("%s: not a histogram: %+v", selector, m)
	}
	var prev uint64
	for _, b := range m.Histogram.Buckets {
		c, _ := strconv.ParseUint(b.Count.String(), 10, 64)
		counts = append(counts, c-prev)
		prev = c
	}
	count, _ = strconv.ParseUint(m.Histogram.Count.String(), 10, 64)
	return counts, count, m.Histogram.Sum
}
