// SPDX-License-Identifier: Apache-2.0
#pragma once

// The producer table: one record per process that registers series (pid, start time,
// uid, command, job, attach time, flags). Private to libshm; the protocol is in
// docs/segment-format.md, "Producer table".
//
// A record is taken from the table's cursor while it has room, then by taking over
// the record of a producer that has exited (decided by its owner lock, never by /proc
// alone), or of a claimer that died while filling one. A record is written while it is
// kProducerClaiming (readers skip it) and published by a release store of
// kProducerAttached; its job and flags may be rewritten later under its seq counter.

#include <cstdint>
#include <string>
#include <vector>

#include "process_identity.h"
#include "segment_impl.h"
#include "shmstats/segment.h"

namespace shmstats::producers {

// Makes a record for `self` and returns its ref (layout::ProducerRef); 0 when the
// segment has no table or the table is full (then counted in producers_refused).
// Never throws. REQUIRES: s.process_mutex held.
uint64_t Attach(detail::SegmentImpl& s, const process::Identity& self);

// Rewrites the job and flags of this process's record `ref` from s's settings.
// REQUIRES: s.process_mutex held.
void Update(detail::SegmentImpl& s, uint64_t ref);

// The records in use, with liveness and (with_series) the series each created.
std::vector<ProducerInfo> Read(const detail::SegmentImpl& s, bool with_series);

// Stores the last activity of the records `refs` name (stale refs are skipped).
void NoteActivity(const detail::SegmentImpl& s, const std::vector<uint64_t>& refs,
                  uint64_t unix_ns);

// Adds the table's figures to info.
void Count(const detail::SegmentImpl& s, SegmentInfo* info);

// Throws Error(kInvalidArgument) unless `job` is a valid job name.
void ValidateJob(std::string_view job);

}  // namespace shmstats::producers
