// SPDX-License-Identifier: Apache-2.0
#pragma once

// Exemplars (OpenMetrics) stored with their series in the segment's exemplar region
// (layout::ExemplarRecord). Private to libshm: exemplars.cc stores them
// (Segment::StoreExemplar), reader.cc reads them into snapshots.

#include <cstdint>

#include "segment_impl.h"
#include "shmstats/snapshot.h"

namespace shmstats::exemplars {

// Copies the exemplars of a validated shared counter or histogram (its values read)
// whose descriptor's `exemplars` word was `word` (0: none) into m->exemplars: nothing for a record
// never written, or one a writer holds through every bounded retry, or one whose
// bytes break the rules (the region is untrusted, as the rest).
void Read(const detail::SegmentImpl& s, uint64_t word, MetricSnapshot* m);

}  // namespace shmstats::exemplars
