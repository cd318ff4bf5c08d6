// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"math"
	"math/rand"
	"testing"
)

// Observe counts each value in the bucket the C library's
// shmstats_histogram_bucket_index names, for 100,000 random values per bucket
// layout (the test is the only writer: that bucket grows by one, or Go chose
// another): exponential layouts of several precisions, explicit bounds the library
// indexes through its lookup table, and explicit bounds too dense for a table
// (binary search).
func TestBucketIndexEqualsTheLibrarys(t *testing.T) {
	s := newSegment(t)
	one := 1.0
	dense := []float64{one, math.Nextafter(one, 2), math.Nextafter(math.Nextafter(one, 2), 2), 2}
	var many []float64
	for i := 1; i <= 500; i++ {
		many = append(many, float64(i)*float64(i)/7)
	}
	layouts := []HistogramOpts{
		{Name: "exp_default"},
		{Name: "exp_p1", Min: 1, Max: 1e4, PrecisionBits: 1},
		{Name: "exp_p4", Min: 1, Max: 1e4, PrecisionBits: 4},
		{Name: "exp_p8", Min: 0.5, Max: 4, PrecisionBits: 8},
		{Name: "exp_wide", Min: 1e-100, Max: 1e100, PrecisionBits: 1},
		{Name: "explicit_prometheus", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
		{Name: "explicit_negative", Buckets: []float64{-100, -1, -0.5, 0, 0.5, 1, 100}},
		{Name: "explicit_one", Buckets: []float64{0}},
		{Name: "explicit_many", Buckets: many},
		{Name: "explicit_dense", Buckets: dense},
	}
	kinds := map[int32]int{}
	rng := rand.New(rand.NewSource(25))
	for _, o := range layouts {
		h, err := s.NewHistogram(o)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		kinds[h.handle.kind]++
		bounds := o.Buckets
		if h.native != nil { // native schema s: bounds 2^(k/2^s) of both signs, zero threshold
			bounds = nativeBounds(o, h)
		}
		mismatches := 0
		for i := 0; i < 100_000; i++ {
			v := randomValue(rng, bounds)
			// Observe itself: the library's bucket must be the one that grew.
			want := h.handle.libraryBucketIndex(v)
			before := h.counts[want]
			h.Observe(v)
			if h.counts[want] != before+1 {
				if mismatches++; mismatches <= 5 {
					t.Errorf("%s: value %v (bits %#x): Observe missed the library's bucket %d",
						o.Name, v, math.Float64bits(v), want)
				}
			}
		}
		if mismatches > 0 {
			t.Errorf("%s: %d of 100000 values in another bucket than the library's", o.Name,
				mismatches)
		}
	}
	// Every way the library indexes is covered.
	for kind, name := range map[int32]string{0: "exponential", 1: "table", 2: "binary search"} {
		if kinds[kind] == 0 {
			t.Errorf("no layout the library indexes by %s", name)
		}
	}
}

// nativeBounds are the bounds 2^(k/2^s) over the layout's range and beyond, with
// their negatives and the zero threshold: within an ulp of the library's (the
// neighbours randomValue also draws cover the ulp).
func nativeBounds(o HistogramOpts, h *Histogram) []float64 {
	lo, hi, s := o.Min, o.Max, o.PrecisionBits
	if lo == 0 {
		lo, hi = 1e-6, 1e4
	}
	if s == 0 {
		s = 3
	}
	per := math.Ldexp(1, s)
	zero := math.Float64frombits(h.native.zeroBits)
	bounds := []float64{zero, -zero}
	for k := math.Floor(math.Log2(lo/4) * per); k <= math.Ceil(math.Log2(hi*4)*per); k++ {
		b := math.Pow(2, k/per)
		bounds = append(bounds, b, -b)
	}
	return bounds
}

// randomValue draws the values where indexes go wrong: around the layout's range
// (log-uniform over it and past both ends), exactly at and one ulp beside a bound,
// zeros of both signs, negatives, infinities, subnormals, and arbitrary bit
// patterns (never NaN: observe ignores it before indexing).
func randomValue(rng *rand.Rand, bounds []float64) float64 {
	lo, hi := bounds[0], bounds[len(bounds)-1]
	switch rng.Intn(8) {
	case 0: // log-uniform from below the first bound to above the last
		a, b := math.Log(math.Max(math.Abs(lo), 1e-300)/4), math.Log(math.Max(math.Abs(hi), 1e-300)*4)
		return math.Exp(a + (b-a)*rng.Float64())
	case 1: // a bound itself
		return bounds[rng.Intn(len(bounds))]
	case 2: // a bound's neighbour
		b := bounds[rng.Intn(len(bounds))]
		return math.Nextafter(b, b+float64(rng.Intn(2)*2-1)*math.Inf(1))
	case 3:
		return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1),
			math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 5e-324 * 1000}[rng.Intn(8)]
	case 4: // negatives
		return -math.Exp(rng.NormFloat64() * 10)
	case 5: // uniform over the explicit range
		return lo + (hi-lo)*rng.Float64()
	default: // any bit pattern but NaN
		for {
			v := math.Float64frombits(rng.Uint64())
			if v == v {
				return v
			}
		}
	}
}
