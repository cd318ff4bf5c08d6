// SPDX-License-Identifier: Apache-2.0
// Retirement and reuse of process-scoped series (docs/segment-format.md,
// "Process-scoped series"). Every step is one CAS or store on a descriptor's life
// word, so a process killed at any instant leaves a phase that the next retirer
// finishes: kFolding or kRefilling with a dead actor becomes kRetired.

#include "process_series.h"

#include <signal.h>

#include <bit>
#include <cerrno>

#include "shmstats/error.h"
#include "values.h"

namespace shmstats::process {
namespace {

using layout::Descriptor;
using layout::Life;
using layout::LifeGeneration;
using layout::LifePhaseOf;
using layout::Slot;

void AddDouble(Slot& slot, double add) {
  uint64_t old = slot.load(std::memory_order_relaxed);
  while (!slot.compare_exchange_weak(old, std::bit_cast<uint64_t>(std::bit_cast<double>(old) + add),
                                     std::memory_order_release, std::memory_order_relaxed)) {
  }
}

// The aggregate series a process-scoped descriptor folds into, checked: published,
// shared, the same key hash, type and buckets. nullptr if it is not.
const Descriptor* Target(const detail::SegmentImpl& s, const Descriptor& p, uint64_t hash) {
  if (p.fold_target == 0 || p.fold_target > s.series_used()) return nullptr;
  const Descriptor& t = s.descriptor(p.fold_target - 1);
  if (t.state.load(std::memory_order_acquire) != (layout::kPublished | hash) ||
      t.scope != layout::kScopeShared || t.type != p.type ||
      (p.type == static_cast<uint8_t>(MetricType::kHistogram) && t.bucket_count != p.bucket_count))
    return nullptr;
  return &t;
}

// Moves a dead process's raw values and reset totals into its aggregate: each reset
// total first, then the raw value (into stripe 0), so the aggregate's raw value
// (value + reset total) never drops and its visible value never loses anything.
void FoldValues(const detail::SegmentImpl& s, const Descriptor& p, const Descriptor& t) {
  Slot* ps = detail::CheckedSlots(s, p);
  Slot* ts = detail::CheckedSlots(s, t);
  const values::Located pw = values::Locate(p), tw = values::Locate(t);
  if (p.type == static_cast<uint8_t>(MetricType::kCounter)) {
    ts[tw.reset].fetch_add(ps[pw.reset].load(std::memory_order_acquire), std::memory_order_release);
    ts[0].fetch_add(values::Raw(ps, pw, 0), std::memory_order_release);
    return;
  }
  AddDouble(ts[tw.reset], std::bit_cast<double>(ps[pw.reset].load(std::memory_order_acquire)));
  AddDouble(ts[0], values::RawDouble(ps, pw));
  for (uint32_t i = 0; i < p.bucket_count; ++i) {
    ts[tw.reset + 1 + i].fetch_add(ps[pw.reset + 1 + i].load(std::memory_order_acquire),
                                   std::memory_order_release);
    ts[1 + i].fetch_add(values::Raw(ps, pw, 1 + i), std::memory_order_release);
  }
}

// Folds (counters, histograms) or drops (gauges) p, whose owner is gone, if its life
// is still `life`. Returns true if this call retired it.
bool Retire(const detail::SegmentImpl& s, Descriptor& p, uint64_t life, uint32_t self) {
  const uint64_t generation = LifeGeneration(life);
  if (!p.life.compare_exchange_strong(life, Life(generation, self, layout::kFolding),
                                      std::memory_order_acq_rel, std::memory_order_relaxed))
    return false;  // another retirer, or the descriptor moved on
  const uint64_t hash = p.state.load(std::memory_order_acquire) & layout::kHashMask;
  if (p.type != static_cast<uint8_t>(MetricType::kGauge)) {
    try {
      if (const Descriptor* t = Target(s, p, hash)) FoldValues(s, p, *t);
    } catch (const Error&) {
      // A corrupt descriptor: nothing to fold into or from; retire it all the same.
    }
  }
  p.life.store(Life(generation, self, layout::kRetired), std::memory_order_release);
  layout::Header& h = s.header();
  h.retired.fetch_add(1, std::memory_order_relaxed);
  h.reusable.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace

bool ActorAlive(uint64_t life) {
  const uint32_t pid = layout::LifeActor(life);
  return pid != 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

uint32_t RetireExited(const detail::SegmentImpl& s, Liveness& live) {
  const uint32_t self = Self().pid;
  uint32_t retired = 0;
  for (uint32_t i = 0, n = s.series_used(); i < n; ++i) {
    Descriptor& d = s.descriptor(i);
    uint64_t life = d.life.load(std::memory_order_acquire);
    switch (LifePhaseOf(life)) {
      case layout::kLiveOwned:
        if (d.scope == layout::kScopeProcess && !live.Alive(d.process_pid, d.process_start))
          retired += Retire(s, d, life, self);
        break;
      case layout::kFolding:
      case layout::kRefilling:
        // Its actor died midway. A fold is taken as done (its window is between two
        // of its atomic steps: docs/segment-format.md); a refill is undone.
        if (!ActorAlive(life) &&
            d.life.compare_exchange_strong(life, Life(LifeGeneration(life), self, layout::kRetired),
                                           std::memory_order_acq_rel, std::memory_order_relaxed))
          s.header().reusable.fetch_add(1, std::memory_order_relaxed);
        break;
      default:
        break;
    }
  }
  return retired;
}

uint32_t TakeRetired(const detail::SegmentImpl& s, uint32_t slots, uint64_t bytes, bool exact,
                     uint32_t self, uint64_t* life_out) {
  layout::Header& h = s.header();
  if (h.reusable.load(std::memory_order_relaxed) == 0) return kNoDescriptor;
  const uint32_t n = s.series_used();
  if (n == 0) return kNoDescriptor;
  const auto start = static_cast<uint32_t>(h.reuse_cursor.load(std::memory_order_relaxed) % n);
  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = (start + k) % n;
    Descriptor& d = s.descriptor(i);
    uint64_t life = d.life.load(std::memory_order_acquire);
    // Slots, strings and their capacities never change after the first claim; they
    // are checked like any untrusted field before they are used.
    if (LifePhaseOf(life) != layout::kRetired || d.scope != layout::kScopeProcess ||
        d.slot_count < slots || (exact && d.slot_count != slots) || d.string_capacity < bytes ||
        d.slot_offset % layout::kCacheLineSlots != 0 ||
        uint64_t{d.slot_offset} + d.slot_count > s.max_slots || d.strings > s.string_bytes ||
        d.string_capacity > s.string_bytes - d.strings)
      continue;
    const uint64_t mine = Life(LifeGeneration(life) + 1, self, layout::kRefilling);
    if (!d.life.compare_exchange_strong(life, mine, std::memory_order_acq_rel,
                                        std::memory_order_relaxed))
      continue;
    // Readers copy a descriptor between two loads of its life word: what we write
    // from here on is ordered after the new word (a seqlock's writer side).
    std::atomic_thread_fence(std::memory_order_release);
    uint64_t left = h.reusable.load(std::memory_order_relaxed);
    while (left > 0 &&
           !h.reusable.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
    }
    h.reused.fetch_add(1, std::memory_order_relaxed);
    h.reuse_cursor.store(i + 1, std::memory_order_relaxed);
    *life_out = mine;
    return i;
  }
  return kNoDescriptor;
}

void Count(const detail::SegmentImpl& s, SegmentInfo* info) {
  Liveness live(s.fd());
  for (uint32_t i = 0, n = s.series_used(); i < n; ++i) {
    const Descriptor& d = s.descriptor(i);
    const uint64_t life = d.life.load(std::memory_order_acquire);
    switch (LifePhaseOf(life)) {
      case layout::kLiveOwned:
        if (live.Alive(d.process_pid, d.process_start))
          ++info->process_series_live;
        else
          ++info->process_series_dead;
        break;
      case layout::kRetired:
        ++info->process_series_reusable;
        break;
      case layout::kFolding:
      case layout::kRefilling:
        if (!ActorAlive(life)) ++info->process_series_dead;
        break;
      default:
        break;
    }
  }
  const layout::Header& h = s.header();
  info->process_series_retired_total = h.retired.load(std::memory_order_relaxed);
  info->process_series_reused_total = h.reused.load(std::memory_order_relaxed);
}

}  // namespace shmstats::process
