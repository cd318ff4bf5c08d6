// SPDX-License-Identifier: Apache-2.0
package bench

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

var roundsFlag = flag.Int("rounds", 5, "times each benchmark runs its variants in turn")

// A round is one turn of a benchmark's variants: each one's CPU and wall ns/op.
type round struct {
	op      string
	order   []string
	nsPerOp map[string]float64 // CPU time of the recording thread
	wallNs  map[string]float64
}

var rounds []*round

type variant struct {
	name string
	body func(n int) // does the operation n times
}

// compare runs the variants as sub-benchmarks, -rounds times in turn, and keeps
// each one's final ns/op per round.
func compare(b *testing.B, op string, variants []variant) {
	for i := 0; i < *roundsFlag; i++ {
		r := &round{op: op, nsPerOp: map[string]float64{}, wallNs: map[string]float64{}}
		rounds = append(rounds, r)
		for _, v := range variants {
			v := v
			r.order = append(r.order, v.name)
			b.Run(v.name, func(b *testing.B) {
				b.ReportAllocs()
				runtime.LockOSThread() // so that the thread's CPU time is the loop's
				defer runtime.UnlockOSThread()
				b.ResetTimer()
				start, cpu := time.Now(), threadCPU()
				v.body(b.N)
				r.nsPerOp[v.name] = float64(threadCPU()-cpu) / float64(b.N)
				r.wallNs[v.name] = float64(time.Since(start).Nanoseconds()) / float64(b.N)
			})
		}
	}
}

// threadCPU is the calling thread's CPU time in nanoseconds
// (CLOCK_THREAD_CPUTIME_ID): what the loop cost, without the time other processes
// of a busy machine took its CPU.
func threadCPU() int64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID,
		uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// printRatios prints, per operation and variant, ns/op and its ratio to
// client_golang and to the floor: the median of the rounds and their range.
func printRatios() {
	byOp := map[string][]*round{}
	var ops []string
	for _, r := range rounds {
		if byOp[r.op] == nil {
			ops = append(ops, r.op)
		}
		byOp[r.op] = append(byOp[r.op], r)
	}
	for _, op := range ops {
		rs := byOp[op]
		fmt.Printf("\n%s: %d rounds; median [min-max]\n", op, len(rs))
		fmt.Printf("  %-22s %-24s %-24s %-24s %s\n", "variant", "CPU ns/op", "wall ns/op",
			"x client_golang (CPU)", "x floor (CPU)")
		for _, v := range rs[0].order {
			ns := collect(rs, func(r *round) float64 { return r.nsPerOp[v] })
			wall := collect(rs, func(r *round) float64 { return r.wallNs[v] })
			peer := collect(rs, func(r *round) float64 { return r.nsPerOp[v] / r.nsPerOp["client_golang"] })
			fl := collect(rs, func(r *round) float64 { return r.nsPerOp[v] / r.nsPerOp["floor"] })
			fmt.Printf("  %-22s %-24s %-24s %-24s %s\n", v, spread(ns, 2), spread(wall, 2),
				spread(peer, 3), spread(fl, 3))
		}
	}
}

func collect(rs []*round, f func(*round) float64) []float64 {
	out := make([]float64, 0, len(rs))
	for _, r := range rs {
		out = append(out, f(r))
	}
	sort.Float64s(out)
	return out
}

func spread(xs []float64, digits int) string {
	f := func(x float64) string { return fmt.Sprintf("%.*f", digits, x) }
	return fmt.Sprintf("%s [%s-%s]", f(xs[len(xs)/2]), f(xs[0]), f(xs[len(xs)-1]))
}
