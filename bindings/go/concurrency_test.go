// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

const perWorker = 100_000

// record is what every goroutine and process of the tests below does: perWorker
// increments of a labelled child, observations and gauge adds.
func record(s *Segment, scope Scope) error {
	c, err := s.NewCounterVec(CounterOpts{Name: "work_total", Scope: scope}, []string{"kind"})
	if err != nil {
		return err
	}
	g, err := s.NewGauge(GaugeOpts{Name: "work_gauge", Scope: scope})
	if err != nil {
		return err
	}
	h, err := s.NewHistogram(HistogramOpts{Name: "work_size", Buckets: []float64{1, 10},
		Scope: scope})
	if err != nil {
		return err
	}
	child := c.WithLabelValues("x")
	for i := 0; i < perWorker; i++ {
		child.Inc()
		g.Add(0.5)
		h.Observe(float64(i % 20)) // 0..19: 2 in (..1], 9 in (1..10], 9 above, per 20
	}
	return nil
}

func expectTotals(t *testing.T, s *Segment, workers int, gauge bool) {
	t.Helper()
	n := uint64(workers * perWorker)
	if got := counterValue(t, s, `work_total{kind="x"}`); got != n {
		t.Errorf("counter = %d, want %d", got, n)
	}
	if gauge {
		if got := gaugeValue(t, s, "work_gauge"); got != float64(n)/2 {
			t.Errorf("gauge = %v, want %v", got, float64(n)/2)
		}
	}
	counts, count, sum := bucketCounts(t, s, "work_size")
	want := []uint64{n / 10, n * 9 / 20, n * 9 / 20}
	if !equal(counts, want) || count != n || sum != float64(n)*9.5 {
		t.Errorf("histogram %v count %d sum %v, want %v count %d sum %v", counts, count, sum,
			want, n, float64(n)*9.5)
	}
}

func TestEightGoroutinesGiveExactTotals(t *testing.T) {
	s := newSegment(t)
	// One family shared by every goroutine too: children found and registered
	// concurrently.
	shared := s.MustNewCounterVec(CounterOpts{Name: "shared_total"}, []string{"k"})
	keys := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				shared.WithLabelValues(keys[i%4]).Inc()
			}
			errs <- record(s, ScopeShared)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	expectTotals(t, s, 8, true)
	for _, k := range keys {
		if got := counterValue(t, s, `shared_total{k="`+k+`"}`); got != 8*perWorker/4 {
			t.Errorf("shared_total{k=%q} = %d, want %d", k, got, 8*perWorker/4)
		}
	}
}

// helperEnv makes the test binary a recording process instead of a test run.
const helperEnv = "SHMSTATS_GO_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "record":
		os.Exit(helperRecord())
	case "seccomp":
		os.Exit(helperSeccomp())
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

func helperRecord() int {
	s, err := Open(os.Getenv("SHMSTATS_SEGMENT"))
	if err == nil {
		scope, _ := strconv.Atoi(os.Getenv("SHMSTATS_GO_TEST_SCOPE"))
		err = record(s, Scope(scope))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// runHelper starts n copies of this test binary as helper processes and waits
// for them all.
func runHelper(t *testing.T, s *Segment, n int, env ...string) {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), "SHMSTATS_SEGMENT="+s.Name()), env...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper process: %v", err)
		}
	}
}

func TestFourProcessesGiveExactTotals(t *testing.T) {
	s := newSegment(t)
	runHelper(t, s, 4, helperEnv+"=record")
	expectTotals(t, s, 4, true)
}

// Process-scoped series: each process records into its own series; readers add
// them into the shared one, and once the processes have exited their counters and
// histograms are folded in (their gauges disappear).
func TestProcessScopedSeriesFromFourProcesses(t *testing.T) {
	s := newSegment(t)
	runHelper(t, s, 4, helperEnv+"=record", "SHMSTATS_GO_TEST_SCOPE=1")
	expectTotals(t, s, 4, false)
	if got := gaugeValue(t, s, "work_gauge"); got != 0 {
		t.Errorf("the exited processes' gauges read %v, want 0 (gone)", got)
	}
	retired, err := s.RetireExited()
	if err != nil || retired == 0 {
		t.Fatalf("RetireExited: %d, %v", retired, err)
	}
	expectTotals(t, s, 4, false)
}
