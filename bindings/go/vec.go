// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"sort"
	"sync"
)

// metricVec is a family of series that differ in their variable labels. A label
// combination is registered (cgo, the cold path) on its first use and kept, so
// later look-ups are a map read under a read lock.
type metricVec[T any] struct {
	base       series
	labelNames []string
	register   func(series) (T, error)

	mu       sync.RWMutex
	children map[string]T
}

func newMetricVec[T any](base series, labelNames []string,
	register func(series) (T, error)) (*metricVec[T], error) {
	seen := map[string]bool{}
	for _, l := range base.labels {
		seen[l.name] = true
	}
	for _, n := range labelNames {
		if n == "" || seen[n] {
			return nil, invalidf("%s: label name %q is empty or given twice", base.name, n)
		}
		seen[n] = true
	}
	return &metricVec[T]{base: base, labelNames: append([]string{}, labelNames...),
		register: register, children: map[string]T{}}, nil
}

// GetMetricWithLabelValues returns the series for these label values (in the
// order of the label names), registering it on first use.
func (v *metricVec[T]) GetMetricWithLabelValues(lvs ...string) (T, error) {
	var zero T
	if len(lvs) != len(v.labelNames) {
		return zero, invalidf("%s: %d label values for %d label names %v", v.base.name,
			len(lvs), len(v.labelNames), v.labelNames)
	}
	var buf [256]byte
	key := buf[:0]
	for _, s := range lvs {
		key = append(append(key, s...), 0xff) // 0xff never occurs in UTF-8
	}
	v.mu.RLock()
	m, ok := v.children[string(key)]
	v.mu.RUnlock()
	if ok {
		return m, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if m, ok := v.children[string(key)]; ok {
		return m, nil
	}
	m, err := v.register(v.base.withLabels(v.labelNames, lvs))
	if err != nil {
		return zero, err
	}
	v.children[string(key)] = m
	return m, nil
}

// GetMetricWith returns the series for these labels, which must name exactly the
// family's label names.
func (v *metricVec[T]) GetMetricWith(labels Labels) (T, error) {
	var zero T
	lvs := make([]string, len(v.labelNames))
	for i, n := range v.labelNames {
		val, ok := labels[n]
		if !ok {
			return zero, invalidf("%s: label %q missing", v.base.name, n)
		}
		lvs[i] = val
	}
	if len(labels) != len(lvs) {
		names := make([]string, 0, len(labels))
		for n := range labels {
			names = append(names, n)
		}
		sort.Strings(names)
		return zero, invalidf("%s: labels %v are not the label names %v", v.base.name, names,
			v.labelNames)
	}
	return v.GetMetricWithLabelValues(lvs...)
}

// WithLabelValues is GetMetricWithLabelValues that panics on error, as in
// client_golang: keep the child it returns and record on that.
func (v *metricVec[T]) WithLabelValues(lvs ...string) T {
	return must(v.GetMetricWithLabelValues(lvs...))
}

// With is GetMetricWith that panics on error.
func (v *metricVec[T]) With(labels Labels) T { return must(v.GetMetricWith(labels)) }
