// SPDX-License-Identifier: Apache-2.0
#pragma once

// Process-scoped series after their process: retirement (folding a dead process's
// counter and histogram values into the shared series of the same key, dropping its
// gauges) and reuse of retired descriptors. Private to libshm; the protocol is in
// docs/segment-format.md, "Process-scoped series".

#include <cstdint>

#include "process_identity.h"
#include "segment_impl.h"

namespace shmstats::process {

inline constexpr uint32_t kNoDescriptor = ~0u;

// Retires every live process-scoped series whose owner is gone, and finishes the
// folds and refills of actors that died midway. Returns the series it retired.
uint32_t RetireExited(const detail::SegmentImpl& s, Liveness& live);

// Takes a retired descriptor whose slots and string room hold `slots` and `bytes`
// (with `exact`, only one of exactly `slots` slots, so that small series do not use
// up the room of large ones): moves it to kRefilling with the next generation, owned
// by `self`, and stores that life word in *life. Returns its index, or kNoDescriptor.
uint32_t TakeRetired(const detail::SegmentImpl& s, uint32_t slots, uint64_t bytes, bool exact,
                     uint32_t self, uint64_t* life);

// Adds the counts of process-scoped series to info (live, owner gone, reusable).
void Count(const detail::SegmentImpl& s, SegmentInfo* info);

// True if the actor (folder or reuser) recorded in a life word is still running.
bool ActorAlive(uint64_t life);

}  // namespace shmstats::process
