// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// Zero system calls on the recording path, checked as the C++ path is
// (tests/libshm/process_seccomp_test.cc): a helper process registers its metrics,
// then a seccomp filter that kills the whole process on any system call but exit
// and exit_group is installed on the one OS thread that records; it records a
// million times with every kind of handle and leaves with a raw exit_group. The
// test passes only if the helper exited with status 0, and the segment then holds
// exactly what it recorded.
//
// Why this isolates the recording path from the Go runtime's own system calls:
// seccomp without TSYNC filters only the calling thread, and the goroutine is
// locked to it (runtime.LockOSThread), so the runtime's other threads (sysmon,
// GC workers, idle Ps) keep making their system calls unfiltered. On the
// recording thread itself the runtime would only make one if it descheduled the
// goroutine (parking a locked thread is a futex wait). So the helper runs with
// GOGC=off (no collection to stop the world), GODEBUG=asyncpreemptoff=1 (no
// preemption signal, whose return is rt_sigreturn), and pins itself to its P
// (runtime.procPin, as sync.Pool does, which makes the scheduler skip the
// synchronous preemption checks at function entry); a warm-up pass grows the
// goroutine's stack before the filter is on. None of this changes the recording
// code: what runs inside the filter is exactly Inc, Add, Set, Sub, Observe,
// WithLabelValues and a Timer.

//go:linkname procPin runtime.procPin
func procPin() int

const sandboxedTimes = 1_000_000

type sandboxHandles struct {
	vec                   *CounterVec
	counter, fraction     *Counter
	set, add, sub, incdec *Gauge
	explicit, exponential *Histogram
	timed                 *Histogram
}

func registerSandboxed(s *Segment, prefix string) (h sandboxHandles, err error) {
	name := func(n string) string { return prefix + n }
	if h.vec, err = s.NewCounterVec(CounterOpts{Name: name("vec_total")}, []string{"k"}); err != nil {
		return
	}
	if _, err = h.vec.GetMetricWithLabelValues("x"); err != nil { // registered here, looked up inside
		return
	}
	if h.counter, err = s.NewCounter(CounterOpts{Name: name("total")}); err != nil {
		return
	}
	if h.fraction, err = s.NewCounter(CounterOpts{Name: name("fraction_total")}); err != nil {
		return
	}
	for _, g := range []struct {
		p **Gauge
		n string
	}{{&h.set, "set"}, {&h.add, "add"}, {&h.sub, "sub"}, {&h.incdec, "incdec"}} {
		if *g.p, err = s.NewGauge(GaugeOpts{Name: name(g.n)}); err != nil {
			return
		}
	}
	if h.explicit, err = s.NewHistogram(HistogramOpts{Name: name("explicit"),
		Buckets: []float64{10, 25, 50, 75, 90}}); err != nil {
		return
	}
	if h.exponential, err = s.NewHistogram(HistogramOpts{Name: name("exponential"), Min: 1,
		Max: 1e4, PrecisionBits: 4}); err != nil {
		return
	}
	h.timed, err = s.NewHistogram(HistogramOpts{Name: name("timed"), Buckets: []float64{1}})
	return
}

func recordSandboxed(h *sandboxHandles, n int) {
	for i := 0; i < n; i++ {
		h.vec.WithLabelValues("x").Inc()
		h.counter.Inc()
		h.fraction.Add(0.5)
		h.set.Set(float64(i) - 0.5)
		h.add.Add(0.5)
		h.sub.Sub(0.25)
		h.incdec.Inc()
		h.incdec.Dec()
		h.explicit.Observe(float64(i % 100))
		h.exponential.Observe(float64(i % 5000))
		t := NewTimer(h.timed) // on the stack (chained, escape analysis moves it to the heap)
		t.ObserveDuration()
	}
}

// seccompExitOnly is the filter: this architecture's system call numbers only,
// exit and exit_group allowed, anything else kills the process (SIGSYS).
func seccompExitOnly() (syscall.SockFprog, error) {
	arch := map[string]uint32{"amd64": 0xc000003e, "arm64": 0xc00000b7}[runtime.GOARCH]
	if arch == 0 {
		return syscall.SockFprog{}, fmt.Errorf("no seccomp filter for %s", runtime.GOARCH)
	}
	const (
		ld, jeq, ret = syscall.BPF_LD | syscall.BPF_W | syscall.BPF_ABS,
			syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, syscall.BPF_RET | syscall.BPF_K
		kill, allow = 0x80000000, 0x7fff0000 // SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ALLOW
	)
	filter := []syscall.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 1, K: arch},
		{Code: ret, K: kill},
		{Code: ld, K: 0}, // seccomp_data.nr
		{Code: jeq, Jt: 2, K: syscall.SYS_EXIT_GROUP},
		{Code: jeq, Jt: 1, K: syscall.SYS_EXIT},
		{Code: ret, K: kill},
		{Code: ret, K: allow},
	}
	return syscall.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}, nil
}

// Exit statuses of the helper before it is sandboxed.
const (
	exitRegistration = 10
	exitNoSandbox    = 11
)

func helperSeccomp() int {
	s, err := Open(os.Getenv("SHMSTATS_SEGMENT"))
	var warm, h sandboxHandles
	if err == nil {
		warm, err = registerSandboxed(s, "warm_")
	}
	if err == nil {
		h, err = registerSandboxed(s, "sandboxed_")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitRegistration
	}
	prog, err := seccompExitOnly()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitNoSandbox
	}
	runtime.LockOSThread()
	recordSandboxed(&warm, 1000)
	procPin()
	const prSetNoNewPrivs = 38 // <linux/prctl.h>
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		return exitNoSandbox
	}
	const prSetSeccomp, seccompModeFilter = 22, 2 // <linux/prctl.h>, <linux/seccomp.h>
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetSeccomp, seccompModeFilter,
		uintptr(unsafe.Pointer(&prog))); e != 0 {
		return exitNoSandbox
	}
	recordSandboxed(&h, sandboxedTimes)
	syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	return 0 // not reached
}

func TestRecordingMakesNoSystemCalls(t *testing.T) {
	s := newSegment(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=seccomp", "SHMSTATS_SEGMENT="+s.Name(),
		"GOGC=off", "GODEBUG=asyncpreemptoff=1")
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("the sandboxed Go producer ended with %v (killed by SIGSYS: a system call on "+
			"the recording thread; status %d: registration failed; %d: seccomp refused)",
			exit.ProcessState, exitRegistration, exitNoSandbox)
	} else if err != nil {
		t.Fatal(err)
	}

	const n = sandboxedTimes
	for _, sel := range []string{`sandboxed_vec_total{k="x"}`, "sandboxed_total"} {
		if got := counterValue(t, s, sel); got != n {
			t.Errorf("%s = %d, want %d", sel, got, n)
		}
	}
	if got := counterValue(t, s, "sandboxed_fraction_total"); got != n/2 {
		t.Errorf("fraction counter = %d, want %d", got, n/2)
	}
	for sel, want := range map[string]float64{"sandboxed_set": n - 1 - 0.5,
		"sandboxed_add": n * 0.5, "sandboxed_sub": n * -0.25, "sandboxed_incdec": 0} {
		if got := gaugeValue(t, s, sel); got != want {
			t.Errorf("%s = %v, want %v", sel, got, want)
		}
	}
	counts, count, sum := bucketCounts(t, s, "sandboxed_explicit")
	if want := []uint64{110000, 150000, 250000, 250000, 150000, 90000}; !equal(counts, want) ||
		count != n || sum != 49.5*n {
		t.Errorf("explicit histogram %v count %d sum %v", counts, count, sum)
	}
	if _, count, sum := bucketCounts(t, s, "sandboxed_exponential"); count != n || sum != 2499.5*n {
		t.Errorf("exponential histogram count %d sum %v", count, sum)
	}
	if _, count, _ := bucketCounts(t, s, "sandboxed_timed"); count != n {
		t.Errorf("timer histogram count %d, want %d", count, n)
	}
}
