// SPDX-License-Identifier: Apache-2.0
package shmstats

import "fmt"

// Status is a libshmstats status code (shmstats_status in shmstats_c.h).
type Status int

// The failures set-up can report.
const (
	StatusInvalidArgument Status = 1  // a name, label, bound or option that breaks the rules
	StatusNotFound        Status = 2  // no such segment
	StatusAlreadyExists   Status = 3  // create on a name that is taken
	StatusTypeMismatch    Status = 4  // the series exists with another type or buckets
	StatusFull            Status = 5  // no room for another metric
	StatusIncompatible    Status = 6  // another format version, or not a shmstats segment
	StatusCorrupt         Status = 7  // the segment breaks the format's invariants
	StatusPermission      Status = 8  // the operating system refused access
	StatusTimeout         Status = 9  // a segment that never finished initialising
	StatusSystem          Status = 10 // another operating-system failure
	StatusNoMemory        Status = 11 // allocation failed
)

// Error is what every set-up function returns on failure: the status and the
// library's (or this package's) explanation.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string { return "shmstats: " + e.Message }

// Is makes errors.Is(err, shmstats.ErrFull) and the like match on the status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Status == e.Status
}

// Sentinels for errors.Is.
var (
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument}
	ErrNotFound        = &Error{Status: StatusNotFound}
	ErrAlreadyExists   = &Error{Status: StatusAlreadyExists}
	ErrTypeMismatch    = &Error{Status: StatusTypeMismatch}
	ErrFull            = &Error{Status: StatusFull}
	ErrPermission      = &Error{Status: StatusPermission}
)

func invalidf(format string, args ...any) error {
	return &Error{Status: StatusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

// must panics on a set-up error: the Must* variants, for metrics created at
// start-up where a failure is a programming error.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
