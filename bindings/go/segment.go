// SPDX-License-Identifier: Apache-2.0
package shmstats

/*
#include <shmstats/shmstats_c.h>
*/
import "C"

import (
	"os"
	"sync"
)

// Segment is an open shmstats segment: metrics are registered in it.
// Safe for concurrent use.
type Segment struct {
	c    *C.shmstats_segment
	name string
}

// Open maps the existing segment called name ("shmstats" is /dev/shm/shmstats)
// for recording.
func Open(name string) (*Segment, error) { return openSegment(name, openExisting, nil) }

// Create makes a new segment (ErrAlreadyExists if the name is taken). o may be nil.
func Create(name string, o *SegmentOptions) (*Segment, error) {
	return openSegment(name, openCreate, o)
}

// OpenOrCreate opens the segment, creating it with o (may be nil) if it is missing.
func OpenOrCreate(name string, o *SegmentOptions) (*Segment, error) {
	return openSegment(name, openOrCreate, o)
}

// Name is the segment's name.
func (s *Segment) Name() string { return s.name }

// Close unmaps the segment. Every handle registered from it must not record
// afterwards (it would touch unmapped memory): close only at the very end, or never.
func (s *Segment) Close() {
	if s.c != nil {
		closeSegment(s.c)
		s.c = nil
	}
}

// RetireExited folds the process-scoped series of exited processes into their
// shared series (shmstatsd does it every tick) and returns how many it retired.
func (s *Segment) RetireExited() (int, error) { return retireExited(s.c) }

var (
	defaultOnce    sync.Once
	defaultSegment *Segment
	defaultErr     error
)

// DefaultSegment is the segment the package-level New* functions register in:
// $SHMSTATS_SEGMENT, else "shmstats", opened or created with the default
// options on first use.
func DefaultSegment() (*Segment, error) {
	defaultOnce.Do(func() {
		name := os.Getenv("SHMSTATS_SEGMENT")
		if name == "" {
			name = "shmstats"
		}
		defaultSegment, defaultErr = OpenOrCreate(name, nil)
	})
	return defaultSegment, defaultErr
}
