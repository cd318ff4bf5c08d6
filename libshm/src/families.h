// SPDX-License-Identifier: Apache-2.0
#pragma once

// The family table: per family, its series counted against its limit, its own limit
// and how many registrations went to its overflow series (docs/segment-format.md,
// "Family limits"). Private to libshm. Every entry is reached through a family
// index position checked here; a segment made without the table has no limits.

#include <cstdint>

#include "segment_impl.h"

namespace shmstats::families {

// The entry at family index position `slot`, or nullptr (no table, or out of range).
layout::FamilyRecord* Record(const detail::SegmentImpl& s, uint32_t slot);

// Counts one more series of the family at `slot` against its limit (setting the
// family's own limit to `limit` first if it has none and `limit` is not 0): false
// if the family is at its limit. An overflow series is never counted.
bool Take(const detail::SegmentImpl& s, uint32_t slot, uint32_t limit, bool overflow);

// Undoes Take (a claim given up, a series deleted); never below zero.
void GiveBack(const detail::SegmentImpl& s, bool overflow, uint32_t slot);

}  // namespace shmstats::families
