// SPDX-License-Identifier: Apache-2.0
#pragma once

// Giving a deleted shared series' room (descriptor, strings, slots) to another key
// once no process can hold a handle to it (docs/segment-format.md, "Deleted series").
// Private to libshm.
//
// A handle is a raw slot pointer nothing can revoke, so a deleted descriptor D goes
// to a new key only when every process that could have taken a handle before D's
// deletion is gone or has declared it dropped: every producer record whose process
// started at or before D's deletion tick (plus one tick) is dead by its owner lock
// (held by anyone: a child forked after registering shares it), the table left no
// producer out, no recordless registrant (Segment::ForgoProducerRecord; the reuser's
// own announcement only past its first registration or once it forked) and no reset
// is under way
// (fixed lock bytes of the segment file), and no process series still
// folds into D. The refill is a fourth `gone` phase, kGoneRefilling, taken by a CAS
// from kDeleted, so that the key's own registrants and every reader see it.

#include <cstdint>

#include "segment_impl.h"

namespace shmstats::reuse {

inline constexpr uint32_t kNone = ~0u;

// Clock ticks of CLOCK_BOOTTIME now: the clock of /proc/<pid>/stat's start time.
uint64_t NowTick();

// Stamps the deletion of d under gone generation `generation` (after the CAS that
// deleted it), unless a stamp of that generation is there: deleted_tick's bits 0..39
// are the tick, bits 40..63 the generation's low 24 bits, so that a late stamp of an
// earlier life is told apart (and replaced by a later one: always safe).
void StampDeleted(layout::Descriptor& d, uint64_t generation);

// Announces that this process registers without a producer record: a shared lock on
// a fixed byte of the segment file, on a descriptor of its own, held until it exits.
// Returns false if the kernel refused it (then reuse in every process waits for
// this one's exit no longer: the caller must not forgo its record).
bool AnnounceRecordless(detail::SegmentImpl& s);

// Counts a registration this process begins (through any mapping; a child forked
// after it inherits the count), before it looks anything up. While the count is 1,
// the process holds no handle: its own recordless announcement, if it opened it and
// has not forked since, does not block the reuse that registration may make.
// Thread-safe.
void BeginRegistration() noexcept;

// Announces a reset under way through s: a shared lock on another fixed byte, held
// from the reset's first copy to its last exchange, on an open file description of
// its own (seen by this process's and a forked relative's reuses alike; released by
// nobody else). Throws Error(kSystem) if the file cannot be opened again or the
// kernel refuses the lock: a reset never runs unannounced. Thread-safe.
class ResetAnnouncement {
 public:
  explicit ResetAnnouncement(const detail::SegmentImpl& s);
  ~ResetAnnouncement();
  ResetAnnouncement(const ResetAnnouncement&) = delete;
  ResetAnnouncement& operator=(const ResetAnnouncement&) = delete;

 private:
  int fd_;
};

// A deleted descriptor taken for a key of `slots` slots and `bytes` string bytes
// (fresh room has run out): its gone word moved to kGoneRefilling under the next
// generation with `self` as actor (stored in *gone), its old key's index entry made
// a tombstone, its exemplars word and slots zeroed. The caller writes its state
// (kClaimed | hash), strings and fields, links it, then calls Publish (or GiveBack
// if it lost the link to another registrant of its key). kNone if none may be
// taken now.
uint32_t Take(const detail::SegmentImpl& s, uint32_t slots, uint64_t bytes, uint32_t self,
              uint64_t* gone);

// After the link: the gone word `gone` (kGoneRefilling) moved to kPresent, counted in
// the header's `refilled`, then the state published.
void Publish(const detail::SegmentImpl& s, layout::Descriptor& d, uint64_t gone);

// Not linked (another registrant linked the key first): its state abandoned, then
// back to kDeleted, its tick kept, so that the next reuser can take it.
void GiveBack(layout::Descriptor& d, uint64_t gone);

// A registrant of d's new key found d through that key's index entry while its gone
// word `gone` is kGoneRefilling: everything was written before the link, so a refill
// whose actor died is finished here. Returns the word it left (kPresent or a live
// actor's kGoneRefilling).
uint64_t RollForward(const detail::SegmentImpl& s, layout::Descriptor& d, uint64_t gone);

// A long-lived producer that drops its handles (Segment::DroppedDeletedBefore): s
// registered series, so its declarations count (Enlist, at s's first registration;
// Delist, when s is destroyed); s's handles include none to a series whose deletion
// tick is below `mark` (DroppedBefore). The process's producer record then says the
// least mark of its mappings of that file that registered (0 if one never declared).
void Enlist(detail::SegmentImpl& s);
void Delist(detail::SegmentImpl& s);
void DroppedBefore(detail::SegmentImpl& s, uint64_t mark);

}  // namespace shmstats::reuse
