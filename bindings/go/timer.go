// SPDX-License-Identifier: Apache-2.0
package shmstats

import "time"

// Observer is anything that observes a value: a Histogram, or a function.
type Observer interface{ Observe(float64) }

// ObserverFunc makes a function an Observer (e.g. ObserverFunc(gauge.Set)).
type ObserverFunc func(float64)

// Observe calls f(v).
func (f ObserverFunc) Observe(v float64) { f(v) }

// Timer measures the time from NewTimer to ObserveDuration, as client_golang's:
//
//	t := shmstats.NewTimer(latency)
//	defer t.ObserveDuration()
//
// The clock is time.Now's monotonic reading (the vDSO: no system call).
type Timer struct {
	begin    time.Time
	observer Observer
}

// NewTimer starts a timer that will observe into o (may be nil).
func NewTimer(o Observer) *Timer { return &Timer{begin: time.Now(), observer: o} }

// ObserveDuration observes the seconds since NewTimer and returns the duration.
func (t *Timer) ObserveDuration() time.Duration {
	d := time.Since(t.begin)
	if t.observer != nil {
		t.observer.Observe(d.Seconds())
	}
	return d
}
