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

// exponentialIndex is shmstats_detail_exponential_index: bucket (lo, hi] from the
// bits of v, whose top bits (exponent and precision bits of mantissa) are the
// bucket's key; negatives and zero clamp to bucket 0, past the last bound to +Inf.
func exponentialIndex(minKey, last int64, shift uint, v float64) int {
	bits := int64(math.Float64bits(v))
	if bits < 0 {
		bits = 0
	}
	i := ((bits - 1) >> (shift & 63)) - minKey // shift < 64; "& 63" spares Go its >= 64 case
	if i < 0 {
		return 0
	}
	if i > last {
		return int(last)
	}
	return int(i)
}
