// SPDX-License-Identifier: Apache-2.0
package shmstats

import (
	"sort"
	"strings"
)

// Labels maps label names to values, as in client_golang.
type Labels map[string]string

// Scope says whose a series is (shmstats_metric_options.scope).
type Scope int

const (
	// ScopeShared (the default): one series shared by every process.
	ScopeShared Scope = iota
	// ScopeProcess: this process's own series, which readers add into the shared
	// series of the same name and labels; when the process has exited its counter
	// and histogram values are folded into that series and its gauge disappears.
	ScopeProcess
)

// Opts names a series, as client_golang's Opts, plus shmstats' Unit and Scope.
// The full name is Namespace_Subsystem_Name.
type Opts struct {
	Namespace   string
	Subsystem   string
	Name        string
	Help        string
	ConstLabels Labels
	Unit        string
	Scope       Scope
}

// CounterOpts and GaugeOpts are Opts, as in client_golang.
type (
	CounterOpts Opts
	GaugeOpts   Opts
)

// HistogramOpts adds the bucket layout to Opts. Buckets set: Prometheus-style
// explicit upper bounds (strictly increasing, finite; +Inf is implied). Buckets
// nil: exponential buckets on Prometheus' native schema from Min to Max, PrecisionBits
// the schema (-4..8: 2^PrecisionBits buckets an octave; zeros take the library's
// defaults: 1e-6, 1e4, schema 3).
type HistogramOpts struct {
	Namespace   string
	Subsystem   string
	Name        string
	Help        string
	ConstLabels Labels
	Unit        string
	Scope       Scope

	Buckets       []float64
	Min, Max      float64
	PrecisionBits int
}

// BuildFQName joins the non-empty parts with "_", as client_golang's.
func BuildFQName(namespace, subsystem, name string) string {
	parts := make([]string, 0, 3)
	for _, p := range []string{namespace, subsystem, name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, "_")
}

type label struct{ name, value string }

// bucketSpec is a histogram's layout: Explicit non-nil for explicit bounds.
type bucketSpec struct {
	Explicit      []float64
	Min, Max      float64
	PrecisionBits int
}

// series is everything registration needs for one series.
type series struct {
	name, help, unit string
	labels           []label
	scope            Scope
	buckets          *bucketSpec
}

func (o *Opts) series() series {
	s := series{name: BuildFQName(o.Namespace, o.Subsystem, o.Name), help: o.Help, unit: o.Unit,
		scope: o.Scope}
	for n, v := range o.ConstLabels {
		s.labels = append(s.labels, label{n, v})
	}
	sort.Slice(s.labels, func(i, j int) bool { return s.labels[i].name < s.labels[j].name })
	return s
}

func (o *HistogramOpts) series() series {
	s := (&Opts{o.Namespace, o.Subsystem, o.Name, o.Help, o.ConstLabels, o.Unit, o.Scope}).series()
	b := &bucketSpec{Min: o.Min, Max: o.Max, PrecisionBits: o.PrecisionBits}
	if o.Buckets != nil {
		b.Explicit = append([]float64{}, o.Buckets...)
	}
	s.buckets = b
	return s
}

// withLabels is s with the variable labels added.
func (s series) withLabels(names, values []string) series {
	s.labels = append(append([]label{}, s.labels...), make([]label, len(names))...)
	for i, n := range names {
		s.labels[len(s.labels)-len(names)+i] = label{n, values[i]}
	}
	return s
}
