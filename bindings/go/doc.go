// SPDX-License-Identifier: Apache-2.0
// Package shmstats records metrics into a shmstats shared-memory segment from Go,
// with an API shaped like client_golang's (NewCounterVec, WithLabelValues, Inc,
// Add, Set, Observe, NewTimer).
//
// Set-up (opening a segment, registering a series, a vector's first use of a label
// combination) goes through libshmstats' C ABI with cgo and returns errors.
// Recording (Inc, Add, Set, Observe, ObserveDuration) is Go code running
// sync/atomic operations on the mapped slots: no cgo call, no system call, no
// lock, no allocation, and it never fails.
//
// Thread-safety: every type here may be used from any number of goroutines.
// Handles stay valid while their Segment is open; most programs never close it.
//
// Striping: Go cannot cheaply learn which CPU a goroutine runs on, so series are
// registered unstriped, and a series another process registered per-CPU is
// recorded into its first stripe (readers add the stripes, so totals stay exact).
package shmstats
