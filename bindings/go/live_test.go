// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// What Go processes record is what the daemon serves: four processes' records,
// read back through a running shmstatsd's /metrics (rendered from the segment at
// the scrape) and through statsctl get, exact in both.
func TestFourProcessesReadBackThroughShmstatsd(t *testing.T) {
	s := newSegment(t)
	port := startShmstatsd(t, s)
	runHelper(t, s, 4, helperEnv+"=record")
	expectTotals(t, s, 4, true)

	m := scrapeMetrics(t, port)
	n := float64(4 * perWorker)
	// record observes i % 20 for i < perWorker: per 20, 2 in (..1], 9 in (1..10], 9 above.
	for key, want := range map[string]float64{
		`work_total{kind="x"}`:        n,
		`work_gauge`:                  n / 2,
		`work_size_bucket{le="1.0"}`:  n / 10,
		`work_size_bucket{le="10.0"}`: n * 11 / 20,
		`work_size_bucket{le="+Inf"}`: n,
		`work_size_count`:             n,
		`work_size_sum`:               n * 9.5,
	} {
		got, ok := m[key]
		if !ok {
			t.Errorf("/metrics has no %s", key)
		} else if got != want {
			t.Errorf("/metrics %s = %v, want %v", key, got, want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics samples: %v", m)
	}
}

// startShmstatsd runs $SHMSTATSD on s with HTTP on a port the kernel chose (read
// from its --port-file) and returns that port once /healthz says it is attached and
// ok; the daemon is stopped when the test ends.
func startShmstatsd(t *testing.T, s *Segment) int {
	t.Helper()
	bin := os.Getenv("SHMSTATSD")
	if bin == "" {
		t.Fatal("SHMSTATSD must name the build's shmstatsd (ctest sets it)")
	}
	dir := t.TempDir()
	portFile := filepath.Join(dir, "ports")
	var log bytes.Buffer
	cmd := exec.Command(bin, "--segment", s.Name(), "--state-dir", dir,
		"--listen", "127.0.0.1:0", "--port-file", portFile)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-done
	})
	// Each poll asks whether the daemon is ready yet; the wait is bounded.
	deadline := time.Now().Add(60 * time.Second)
	poll := func(what string, ready func() bool) {
		for !ready() {
			select {
			case err := <-done:
				t.Fatalf("shmstatsd exited (%v) before %s: %s", err, what, log.String())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("shmstatsd: no %s within 60 s: %s", what, log.String())
			}
		}
	}
	port := 0
	httpLine := regexp.MustCompile(`(?m)^http (\d+)$`)
	poll("port file", func() bool {
		b, err := os.ReadFile(portFile)
		if m := httpLine.FindSubmatch(b); err == nil && m != nil {
			port, _ = strconv.Atoi(string(m[1]))
		}
		return port != 0
	})
	poll("ok from /healthz", func() bool {
		r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
		if err != nil {
			return false
		}
		defer r.Body.Close()
		var h struct{ Status string }
		return r.StatusCode == http.StatusOK && json.NewDecoder(r.Body).Decode(&h) == nil &&
			h.Status == "ok"
	})
	return port
}

// scrapeMetrics is GET /metrics (Prometheus text): sample (name{labels} as printed)
// to value.
func scrapeMetrics(t *testing.T, port int) map[string]float64 {
	t.Helper()
	r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d", r.StatusCode)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[at+1:], 64)
		if at < 0 || err != nil {
			t.Fatalf("/metrics: bad sample line %q", line)
		}
		m[line[:at]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
