// SPDX-License-Identifier: Apache-2.0
package shmstats

import "math"

// The bucket a histogram counts a value in, computed in Go exactly as libshmstats'
// shmstats_histogram_bucket_index does (the tests compare them value for value).
// v is never NaN here.

// explicitIndex is the first bound >= v, or len(bounds) (the +Inf bucket).
func explicitIndex(bounds []float64, v float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bounds[mid] < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// nativeSchema is what exponential buckets (Prometheus' native schema) need beyond
// minKey, last and shift: the schema's table of 2^(shift+1) cells (library memory), the coarse
// shift of negative schemas, and the zero threshold's bits.
type nativeSchema struct {
	cells       []uint64
	coarseShift uint
	zeroBits    uint64
}

// nativeIndex is shmstats_detail_exponential_index (the algorithm of
// docs/segment-format.md): the octave from the exponent, the sub-bucket from one
// table cell and one comparison, clamped to the range, mirrored about the zero
// bucket by sign. Buckets: last+1 negative, zero, last+1 positive.
func nativeIndex(n *nativeSchema, minKey, last int64, shift uint, v float64) int {
	bits := math.Float64bits(v)
	mag := bits &^ (1 << 63)
	mantissa := mag & (1<<52 - 1)
	cell := n.cells[mantissa>>((51-shift)&63)]
	sub := cell & 0x7ff
	if mantissa<<11 > cell {
		sub++
	}
	cs := n.coarseShift & 63
	c := int64((((mag>>52)+1)<<(shift&63)+sub+(1<<cs-1))>>cs) - minKey
	if c < 0 {
		c = 0
	} else if c > last {
		c = last
	}
	d := uint64(c) + 1
	if mag <= n.zeroBits {
		d = 0
	}
	neg := -(bits >> 63)
	return int(uint64(last) + 1 + ((d ^ neg) - neg))
}
