// SPDX-License-Identifier: Apache-2.0
package bench

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	shmstats "github.com/shmstats/shmstats/bindings/go"
)

// Each benchmark runs shmstats beside its peer (client_golang) and its floor,
// -rounds times in turn (interleaved, so that a busy machine's noise falls on all
// of them alike); TestMain prints each operation's ratios, median and range over
// the rounds, at the end. Run (GOPATH mode, see run.sh):
//
//	bench/go/run.sh build -benchtime 500ms -rounds 5

var (
	segment *shmstats.Segment
	floor   []uint64                // slots in a MAP_SHARED mapping of a /dev/shm file
	values  = make([]float64, 1024) // observations, the same for every histogram
)

func TestMain(m *testing.M) {
	name := fmt.Sprintf("shmstats_go_bench_%d", os.Getpid())
	var err error
	if segment, err = shmstats.Create(name, nil); err == nil {
		floor, err = mapShared()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rng := rand.New(rand.NewSource(1))
	for i := range values {
		values[i] = rng.ExpFloat64() * 0.1 // seconds, around DefBuckets' middle
	}
	code := m.Run()
	segment.Close()
	_ = shmstats.Remove(name)
	printRatios()
	os.Exit(code)
}

func mapShared() ([]uint64, error) {
	f, err := os.CreateTemp("/dev/shm", "shmstats-go-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := f.Truncate(4096); err != nil {
		return nil, err
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), 512), nil
}

func BenchmarkCounterIncChild(b *testing.B) {
	child := segment.MustNewCounterVec(shmstats.CounterOpts{Name: "bench_total"},
		[]string{"k"}).WithLabelValues("x")
	peer := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bench_total"},
		[]string{"k"}).WithLabelValues("x")
	compare(b, "Counter.Inc on a labelled child", []variant{
		{"shmstats", func(n int) {
			for i := 0; i < n; i++ {
				child.Inc()
			}
		}},
		{"client_golang", func(n int) {
			for i := 0; i < n; i++ {
				peer.Inc()
			}
		}},
		{"floor", func(n int) { // a bare atomic add on shared memory
			slot := &floor[0]
			for i := 0; i < n; i++ {
				atomic.AddUint64(slot, 1)
			}
		}},
	})
}

func BenchmarkHistogramObserve(b *testing.B) {
	explicit := segment.MustNewHistogram(shmstats.HistogramOpts{Name: "bench_seconds",
		Buckets: prometheus.DefBuckets})
	exponential := segment.MustNewHistogram(shmstats.HistogramOpts{Name: "bench_exp_seconds"})
	peer := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bench_seconds",
		Buckets: prometheus.DefBuckets})
	compare(b, "Histogram.Observe", []variant{
		{"shmstats", func(n int) {
			for i := 0; i < n; i++ {
				explicit.Observe(values[i&1023])
			}
		}},
		{"shmstats_exponential", func(n int) {
			for i := 0; i < n; i++ {
				exponential.Observe(values[i&1023])
			}
		}},
		{"client_golang", func(n int) {
			for i := 0; i < n; i++ {
				peer.Observe(values[i&1023])
			}
		}},
		{"floor", func(n int) { // one bucket's atomic add and the sum's CAS, no search
			sum, bucket := &floor[8], &floor[9]
			for i := 0; i < n; i++ {
				v := values[i&1023]
				atomic.AddUint64(bucket, 1)
				for {
					old := atomic.LoadUint64(sum)
					if atomic.CompareAndSwapUint64(sum, old,
						math.Float64bits(math.Float64frombits(old)+v)) {
						break
					}
				}
			}
		}},
	})
}
