// SPDX-License-Identifier: Apache-2.0
// Registration, the cold path: lock-free find-or-create of a series through the
// series index, with the family's type decided once through the family index.
//
// Protocol (docs/segment-format.md, "Registration"):
//  1. Look the key up in the series index (open addressing along layout::Probe's
//     sequence, ended by a free entry). A linked descriptor still kClaimed is
//     complete (everything is written before the link): publish it for its
//     claimer, which may have died.
//  2. Not found: CAS the family-index entry free -> type|family hash. Whoever does
//     it first decides the family's type; a registrant of another type gets
//     kTypeMismatch.
//  3. Take a descriptor, strings and slots from their cursors (reserving tmpfs pages
//     before each cursor moves), claim and fill the descriptor, then CAS the free
//     index entry to point at it (release). Losing that CAS: look at what the winner
//     linked (our key: abandon ours and use theirs) and probe on.
//  4. CAS the descriptor kClaimed -> kPublished (release).
// Nothing ever waits on another process, so none can wedge a registration.

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

#include "buckets.h"
#include "families.h"
#include "names.h"
#include "ownership.h"
#include "process_series.h"
#include "producers.h"
#include "reuse.h"
#include "segment_impl.h"
#include "shmstats/error.h"

namespace shmstats {
namespace {

using layout::Descriptor;
constexpr uint32_t kNone = ~0u;

struct Request {
  MetricType type;
  const MetricSpec& spec;
  std::string labels;  // encoded
  buckets::Layout buckets;
  uint64_t hash;          // key hash: name and labels
  uint64_t family;        // hash of the name alone
  uint32_t slots;         // slots this metric needs
  uint8_t stripes;        // 0: not striped
  uint8_t flags = 0;      // layout::kFlag*
  bool overflow = false;  // the family's overflow series: never counted against its limit
  uint64_t producer = 0;  // the registering process's producer record (layout::ProducerRef)
};

// Thrown (inside this file only) when r's family is at its series limit.
struct FamilyFull {};

std::string SeriesName(const Request& r) {
  std::string out = r.spec.name;
  Labels decoded;
  std::string why;
  names::DecodeLabels(r.labels, &decoded, &why);
  for (size_t i = 0; i < decoded.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", i ? "," : "{", decoded[i].first, decoded[i].second);
  return decoded.empty() ? out : out + "}";
}

// True if d (linked, so fully written) is r's series. Its string range is checked:
// other writers are trusted no more than readers trust them.
bool SameKey(const detail::SegmentImpl& s, const Descriptor& d, const Request& r) {
  uint64_t at = d.strings;
  size_t name_len = d.name_len, labels_len = d.labels_len;
  if (name_len != r.spec.name.size() || labels_len != r.labels.size() || at > s.string_bytes ||
      name_len + labels_len > s.string_bytes - at)
    return false;
  const char* p = s.strings() + at;
  return std::memcmp(p, r.spec.name.data(), name_len) == 0 &&
         std::memcmp(p + name_len, r.labels.data(), labels_len) == 0;
}

void CheckCompatible(const detail::SegmentImpl& s, const Descriptor& d, const Request& r) {
  if (d.type != static_cast<uint8_t>(r.type))
    throw Error(Errc::kTypeMismatch,
                fmt::format("{} is already registered as a {}, not a {}", SeriesName(r),
                            TypeName(static_cast<MetricType>(d.type)), TypeName(r.type)));
  if (d.flags != r.flags) {
    auto kind = [](uint8_t flags) {
      return flags & layout::kFlagFloatCounter ? "a float counter" : "an integer counter";
    };
    throw Error(Errc::kTypeMismatch, fmt::format("{} is already registered as {}, not {}",
                                                 SeriesName(r), kind(d.flags), kind(r.flags)));
  }
  if (r.type != MetricType::kHistogram) return;
  const buckets::Layout& want = r.buckets;
  bool same =
      d.bucket_kind == want.kind && d.bucket_count == want.bounds.size() + 1 &&
      (want.kind != layout::kExponential || (d.schema == want.schema && d.min_key == want.first));
  if (same) {
    const layout::Slot* bounds =
        detail::CheckedSlots(s, d) + layout::BoundsOffset(d.bucket_count, d.stripes);
    for (size_t i = 0; same && i < want.bounds.size(); ++i)
      same = bounds[i].load(std::memory_order_relaxed) == std::bit_cast<uint64_t>(want.bounds[i]);
  }
  if (!same)
    throw Error(Errc::kTypeMismatch,
                fmt::format("{} is already registered with other buckets; asked for {}",
                            SeriesName(r), buckets::Describe(want)));
}

[[noreturn]] void Refuse(const detail::SegmentImpl& s, const std::string& why) {
  s.header().refused.fetch_add(1, std::memory_order_relaxed);
  throw Error(Errc::kFull, fmt::format("segment {} is full: {}; existing metrics keep working. "
                                       "Create a larger segment (statsctl create --max-metrics, "
                                       "--max-slots)",
                                       s.path, why));
}

[[noreturn]] void NoMemory(const detail::SegmentImpl& s, const Request& r) {
  s.header().refused.fetch_add(1, std::memory_order_relaxed);
  throw Error(Errc::kSystem, fmt::format("no space left in /dev/shm for {} in segment {} ({}): "
                                         "free memory or enlarge the tmpfs",
                                         SeriesName(r), s.path, std::strerror(errno)));
}

// The string bytes r's series takes (name, labels, help, unit).
uint64_t StringBytes(const Request& r) {
  return r.spec.name.size() + r.labels.size() + r.spec.help.size() + r.spec.unit.size();
}

// Why r's strings or slots cannot fit above the cursors now; empty if they can.
std::string NoRoom(const detail::SegmentImpl& s, const Request& r) {
  const layout::Header& h = s.header();
  auto fits = [](uint64_t used, uint64_t count, uint64_t align, uint64_t limit) {
    uint64_t start = (std::min(used, limit) + align - 1) / align * align;
    return used <= limit && start <= limit && count <= limit - start;
  };
  const uint64_t bytes = StringBytes(r);
  uint64_t slots_used = h.slots_used.load(std::memory_order_relaxed);
  uint64_t strings_used = h.strings_used.load(std::memory_order_relaxed);
  if (!fits(slots_used, r.slots, layout::kCacheLineSlots, s.max_slots))
    return fmt::format("{} needs {} value slots on a fresh cache line but {} of {} are used",
                       SeriesName(r), r.slots, std::min<uint64_t>(slots_used, s.max_slots),
                       s.max_slots);
  if (!fits(strings_used, bytes, 8, s.string_bytes))
    return fmt::format("{} needs {} bytes for its name and labels but {} of {} are used",
                       SeriesName(r), bytes, std::min(strings_used, s.string_bytes),
                       s.string_bytes);
  return {};
}

// Refuses r before it takes anything if its strings or slots cannot fit now, so
// that refusals do not use up descriptors (a registrant losing the last room to a
// racer between this check and its claim abandons its descriptor instead).
void CheckRoom(const detail::SegmentImpl& s, const Request& r) {
  if (std::string why = NoRoom(s, r); !why.empty()) Refuse(s, why);
}

// Step 2: the family's type, decided once by a CAS from 0. Returns the family's
// index position (its family table entry's too).
uint32_t ReserveFamily(const detail::SegmentImpl& s, const Request& r) {
  const uint64_t want = layout::FamilyEntry(r.family, static_cast<uint8_t>(r.type));
  const uint32_t mask = s.index_entries - 1;
  for (uint32_t k = 0, i = r.family & mask; k < s.index_entries; ++k, i = (i + 1) & mask) {
    auto& entry = s.family_entry(i);
    uint64_t e = entry.load(std::memory_order_acquire);
    // The family's table entry is reserved before the family exists: whoever sees the
    // family-index entry may touch it.
    if (e == 0 && s.family_table_offset != 0 &&
        !s.Reserve(s.family_table_offset + uint64_t{i} * layout::kFamilyEntrySize,
                   layout::kFamilyEntrySize))
      NoMemory(s, r);
    if (e == 0 && entry.compare_exchange_strong(e, want, std::memory_order_acq_rel,
                                                std::memory_order_acquire))
      return i;
    if ((e & layout::kHashMask) != (want & layout::kHashMask)) continue;
    if (e == want) return i;
    throw Error(
        Errc::kTypeMismatch,
        fmt::format("metric family {} already has {} series; {} cannot be a {}", r.spec.name,
                    TypeName(static_cast<MetricType>(e >> 62)), SeriesName(r), TypeName(r.type)));
  }
  Refuse(s, fmt::format("all {} family index entries are used", s.index_entries));
}

// Takes one unit from a bump cursor: the first `count` units at or after the cursor
// rounded up to `align`, below `limit`. The pages they cover are reserved (through
// page_of) before the cursor moves past them. Returns false if they do not fit.
// The cursor is untrusted: no arithmetic may wrap.
template <class ByteRange>
bool Bump(const detail::SegmentImpl& s, std::atomic<uint64_t>& cursor, uint64_t count,
          uint64_t align, uint64_t limit, const Request& r, ByteRange byte_range, uint64_t* out) {
  uint64_t used = cursor.load(std::memory_order_relaxed);
  for (;;) {
    if (used > limit) return false;
    uint64_t start = (used + align - 1) / align * align;
    if (start > limit || count > limit - start) return false;
    // Every page below the cursor's is reserved already: whoever moved the cursor
    // reserved whole pages. Reserve only when the unit reaches past them.
    auto [offset, len] = byte_range(start, count);
    uint64_t reserved_end =
        (byte_range(used, 0).first + layout::kPage - 1) / layout::kPage * layout::kPage;
    if (used == 0 || offset + len > reserved_end) {
      if (!s.Reserve(offset, len)) NoMemory(s, r);
    }
    // Release: the reservation precedes the cursor a reader acquires.
    if (cursor.compare_exchange_weak(used, start + count, std::memory_order_release,
                                     std::memory_order_relaxed)) {
      *out = start;
      return true;
    }
  }
}

// Marks our unlinked claim abandoned (its strings and slots are leaked) and counts it.
void Abandon(const detail::SegmentImpl& s, Descriptor& d, const Request& r) {
  uint64_t claimed = layout::kClaimed | r.hash;
  if (d.state.compare_exchange_strong(claimed, layout::kAbandoned | r.hash,
                                      std::memory_order_relaxed))
    s.header().abandoned.fetch_add(1, std::memory_order_relaxed);
}

// Descriptor::gauge_combine of r's series.
uint8_t CombineByte(const Request& r) {
  if (r.type != MetricType::kGauge) return 0;
  return static_cast<uint8_t>(static_cast<uint8_t>(r.spec.combine) |
                              (r.spec.live_only ? layout::kGaugeLiveOnly : 0));
}

// Writes r's strings at `at` (string offset) and every field of d but its state,
// life, slot_count and capacities, with r's slots at `offset` (their bounds written).
void Fill(const detail::SegmentImpl& s, Descriptor& d, const Request& r, uint64_t at,
          uint64_t offset) {
  char* p = s.strings() + at;
  for (std::string_view part : {std::string_view(r.spec.name), std::string_view(r.labels),
                                std::string_view(r.spec.help), std::string_view(r.spec.unit)}) {
    std::memcpy(p, part.data(), part.size());
    p += part.size();
  }

  d.type = static_cast<uint8_t>(r.type);
  d.bucket_kind = r.buckets.kind;
  d.schema = r.buckets.schema;
  d.stripes = r.stripes;
  d.flags = r.flags;
  d.producer = r.producer;
  d.min_key = r.buckets.first;
  d.bucket_count = r.type == MetricType::kHistogram ? r.buckets.bounds.size() + 1 : 0;
  d.gauge_combine = CombineByte(r);
  d.name_len = r.spec.name.size();
  d.labels_len = r.labels.size();
  d.help_len = r.spec.help.size();
  d.unit_len = r.spec.unit.size();
  d.strings = at;
  d.slot_offset = static_cast<uint32_t>(offset);
  d.ttl_seconds = r.spec.scope == Scope::kShared ? r.spec.ttl_seconds : 0;
  layout::Slot* slots = s.slots() + offset;
  for (size_t i = 0; i < r.buckets.bounds.size(); ++i)
    slots[layout::BoundsOffset(d.bucket_count, r.stripes) + i].store(
        std::bit_cast<uint64_t>(r.buckets.bounds[i]), std::memory_order_relaxed);
}

// Step 3 up to the link: a descriptor claimed for r, fully written, in the family at
// index position `family` (kNone: a process-scoped series). Throws kFull.
uint32_t Claim(const detail::SegmentImpl& s, const Request& r, uint32_t self,
               uint32_t family = kNone) {
  layout::Header& h = s.header();
  uint64_t index = 0;
  auto directory = [&s](uint64_t i, uint64_t n) {
    return std::pair{s.directory_offset + i * layout::kDescriptorSize, n * layout::kDescriptorSize};
  };
  if (!Bump(s, h.series_used, 1, 1, s.max_metrics, r, directory, &index))
    Refuse(s, fmt::format("all {} metric descriptors are used; {} cannot be added", s.max_metrics,
                          SeriesName(r)));
  Descriptor& d = s.descriptor(static_cast<uint32_t>(index));
  // Nobody else writes a descriptor above the cursor it took: plain stores suffice
  // until the link publishes them.
  d.owner_pid.store(self, std::memory_order_relaxed);
  d.state.store(layout::kClaimed | r.hash, std::memory_order_relaxed);

  try {
    const uint64_t bytes = StringBytes(r);
    uint64_t at = 0;
    auto strings = [&s](uint64_t i, uint64_t n) { return std::pair{s.strings_offset + i, n}; };
    // Cursors only grow: what did not fit now fails CheckRoom too, with its message.
    auto no_room = [&] {
      CheckRoom(s, r);
      Refuse(s, SeriesName(r) + " lost the last room to another registrant");
    };
    if (!Bump(s, h.strings_used, bytes, 8, s.string_bytes, r, strings, &at)) no_room();
    uint64_t offset = 0;
    auto data = [&s](uint64_t i, uint64_t n) { return std::pair{s.data_offset + i * 8, n * 8}; };
    if (!Bump(s, h.slots_used, r.slots, layout::kCacheLineSlots, s.max_slots, r, data, &offset))
      no_room();
    Fill(s, d, r, at, offset);
    d.family_slot = family == kNone ? 0 : family + 1;
    d.slot_count = r.slots;
    d.string_capacity = static_cast<uint32_t>(bytes);
  } catch (...) {
    Abandon(s, d, r);  // refused, or tmpfs is full
    throw;
  }
  return static_cast<uint32_t>(index);
}

// Step 4, also done for a claimer that died between its link and this.
void Publish(Descriptor& d, uint64_t hash) {
  uint64_t claimed = layout::kClaimed | hash;
  // Release: everything the claimer wrote (which we acquired through the index
  // entry, if we are not the claimer) is visible to whoever acquires kPublished.
  d.state.compare_exchange_strong(claimed, layout::kPublished | hash, std::memory_order_acq_rel,
                                  std::memory_order_acquire);
}

// The descriptor the index entry `entry` (read from `slot`) links, if it is r's
// series (published now, if its claimer died before publishing it); nullptr
// otherwise. A descriptor's key changes when it is given to another key (reuse.h),
// so its gone word is loaded before the key comparison and must be found again after
// it; that word is stored in *gone.
Descriptor* Linked(const detail::SegmentImpl& s, const std::atomic<uint64_t>& slot, uint64_t entry,
                   const Request& r, uint64_t* gone) {
  auto link = static_cast<uint32_t>(entry);
  if ((entry >> 32) != layout::IndexTag(r.hash) || link == 0 || link > s.max_metrics)
    return nullptr;
  Descriptor& d = s.descriptor(link - 1);
  for (;;) {
    // Seq_cst: a reuser that sees the deletion following this load sees this
    // process's producer record (reuse.cc, Holders).
    const uint64_t before = d.gone.load(std::memory_order_seq_cst);
    const uint64_t state = d.state.load(std::memory_order_acquire);
    if ((state & layout::kHashMask) != r.hash || !SameKey(s, d, r)) return nullptr;
    if (layout::GonePhaseOf(before) == layout::kGoneRefilling) {
      // Being given to r's key: only that key's own link (made after every write)
      // leads here with its state and strings, since the old key's entry became a
      // tombstone before the state was rewritten (release) for the new key.
      if ((state & layout::kStateMask) != layout::kClaimed ||
          slot.load(std::memory_order_seq_cst) != entry)
        return nullptr;
      *gone = reuse::RollForward(s, d, before);
      if (layout::GonePhaseOf(*gone) == layout::kGoneRefilling) return &d;  // its actor publishes
      continue;
    }
    if ((state & layout::kStateMask) == layout::kClaimed) Publish(d, r.hash);
    if ((d.state.load(std::memory_order_acquire) & layout::kStateMask) != layout::kPublished)
      return nullptr;
    if (d.gone.load(std::memory_order_seq_cst) == before) {
      *gone = before;
      return &d;
    }
    // Deleted, revived or given away meanwhile: compare again.
  }
}

// Registers the deleted series d (r's key, its gone word `gone` as Linked found it)
// again: its values zeroed, then shown (docs/segment-format.md, "Deleted series"). A
// revival left midway by a dead actor is redone; one under way in a live process is
// left to it (its zeroing may take what the caller records before it ends). Returns
// false if the word changed first (the caller looks at d again). Throws FamilyFull.
bool Revive(const detail::SegmentImpl& s, Descriptor& d, const Request& r, uint32_t self,
            uint64_t gone) {
  const uint64_t phase = layout::GonePhaseOf(gone);
  if (phase == layout::kPresent || phase == layout::kGoneRefilling) return true;
  if (phase == layout::kReviving && !detail::OwnerDead(layout::GoneActor(gone))) return true;
  const bool fresh = phase == layout::kDeleted;
  // The family read once, and found to be the key's: a refill rewrites it only after
  // moving the gone word on (reuse.h), so an unchanged word after the read says that
  // it is r's key's.
  const uint32_t family = d.family_slot - 1;
  if (d.gone.load(std::memory_order_seq_cst) != gone) return false;
  if (fresh && !families::Take(s, family, r.spec.family_limit, r.overflow)) throw FamilyFull{};
  const uint64_t generation = layout::GoneGeneration(gone) + (fresh ? 1 : 0);
  if (!d.gone.compare_exchange_strong(gone, layout::Gone(generation, self, layout::kReviving),
                                      std::memory_order_seq_cst)) {
    if (fresh) families::GiveBack(s, r.overflow, family);
    return false;
  }
  // Readers skip it (not present) and check the word again after copying values.
  std::atomic_thread_fence(std::memory_order_release);
  layout::Slot* slots = detail::CheckedSlots(s, d);
  const uint32_t bounds = d.type == static_cast<uint8_t>(MetricType::kHistogram)
                              ? layout::BoundsOffset(d.bucket_count, d.stripes)
                              : d.slot_count;
  const uint32_t after_bounds = d.type == static_cast<uint8_t>(MetricType::kHistogram)
                                    ? bounds + d.bucket_count - 1
                                    : d.slot_count;
  for (uint32_t i = 0; i < d.slot_count; ++i)
    if (i < bounds || i >= after_bounds) slots[i].store(0, std::memory_order_relaxed);
  d.gone.store(layout::Gone(generation, self, layout::kPresent), std::memory_order_release);
  if (fresh) s.header().revived.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// True if r's strings and slots fit above the cursors and a descriptor is left.
bool FreshRoom(const detail::SegmentImpl& s, const Request& r) {
  return NoRoom(s, r).empty() &&
         s.header().series_used.load(std::memory_order_relaxed) < s.max_metrics;
}

// A deleted series' room taken for r (reuse.h), claimed and fully written as Claim
// writes a fresh one, its gone word in *gone; kNone if none may be taken now.
uint32_t TakeDeleted(const detail::SegmentImpl& s, const Request& r, uint32_t self, uint32_t family,
                     uint64_t* gone) {
  const uint64_t bytes = StringBytes(r);
  const uint32_t index = reuse::Take(s, r.slots, bytes, self, gone);
  if (index == reuse::kNone) return kNone;
  Descriptor& d = s.descriptor(index);
  // Release: a lookup of the old key that sees the new hash sees its entry's
  // tombstone (Linked).
  d.state.store(layout::kClaimed | r.hash, std::memory_order_release);
  // Readers that copied the old key's fields or strings find the state changed after
  // the copy (a seqlock: reader.cc, ReadMeta).
  std::atomic_thread_fence(std::memory_order_release);
  Fill(s, d, r, d.strings, d.slot_offset);
  d.family_slot = family + 1;
  return index;
}

// Find-or-create; returns the published descriptor for r, compatible with it.
// Throws FamilyFull when r is a new series of a family at its limit.
const Descriptor& FindOrCreate(const detail::SegmentImpl& s, const Request& r) {
  const uint32_t self = process::SelfPid();
  uint32_t own = kNone;     // our claimed, not yet linked descriptor
  uint32_t family = kNone;  // its family's index position
  uint64_t refill = 0;      // own's gone word if own is a deleted series' room (reuse.h)
  auto give_up = [&] {
    if (refill != 0)
      reuse::GiveBack(s.descriptor(own), refill);
    else
      Abandon(s, s.descriptor(own), r);
    families::GiveBack(s, r.overflow, family);
    own = kNone;
    refill = 0;
  };
  for (uint32_t k = 0; k < layout::ProbeLength(s.index_entries); ++k) {
    auto& entry = s.series_entry(layout::Probe(r.hash, k, s.index_entries));
    uint64_t e = entry.load(std::memory_order_acquire);
    if (e == 0) {
      if (own == kNone) {
        // Fresh room gone: a deleted series' room, if no process can hold a handle
        // to it (reuse.h); else the refusal says why.
        const bool fresh = FreshRoom(s, r);
        family = ReserveFamily(s, r);
        if (!families::Take(s, family, r.spec.family_limit, r.overflow)) throw FamilyFull{};
        try {
          own = fresh ? kNone : TakeDeleted(s, r, self, family, &refill);
          if (own == kNone) {
            if (!fresh) CheckRoom(s, r);
            own = Claim(s, r, self, family);
          }
        } catch (...) {
          families::GiveBack(s, r.overflow, family);
          throw;
        }
      }
      // Release: the descriptor, its strings and bounds are complete for whoever
      // acquires this entry.
      if (entry.compare_exchange_strong(e, layout::IndexEntry(r.hash, own),
                                        std::memory_order_acq_rel, std::memory_order_acquire)) {
        Descriptor& d = s.descriptor(own);
        if (refill != 0)
          reuse::Publish(s, d, refill);
        else
          Publish(d, r.hash);
        return d;
      }
      // Someone linked this entry first: look at what they linked.
    }
    uint64_t gone = 0;
    while (Descriptor* d = Linked(s, entry, e, r, &gone)) {
      if (own != kNone) give_up();
      CheckCompatible(s, *d, r);
      if (d->scope != layout::kScopeShared || Revive(s, *d, r, self, gone)) return *d;
    }
  }
  if (own != kNone) give_up();
  Refuse(s, fmt::format("all {} series index entries are used", s.index_entries));
}

// A descriptor of this process for r (process scope), published, never linked from
// the series index: a retired one reused if there is one that fits, else a fresh
// one; when the segment has no fresh room, process series whose owner exited are
// retired first to make some.
Descriptor& ClaimProcessSeries(const detail::SegmentImpl& s, const Request& r,
                               const process::Identity& self, uint32_t target) {
  const uint64_t bytes = StringBytes(r);
  uint64_t life = 0;
  // A retired descriptor of the same size first, then fresh room, then (after
  // retiring the series of exited processes) any retired descriptor that fits.
  uint32_t index = process::TakeRetired(s, r.slots, bytes, true, self.pid, &life);
  if (index == process::kNoDescriptor && !FreshRoom(s, r)) {
    process::Liveness live(s.fd());
    process::RetireExited(s, live);
    index = process::TakeRetired(s, r.slots, bytes, true, self.pid, &life);
    if (index == process::kNoDescriptor)
      index = process::TakeRetired(s, r.slots, bytes, false, self.pid, &life);
  }
  if (index == process::kNoDescriptor) {
    CheckRoom(s, r);
    index = Claim(s, r, self.pid);  // refuses (kFull) if nothing is left
    life = layout::Life(0, self.pid, layout::kRefilling);
    s.descriptor(index).life.store(life, std::memory_order_relaxed);
  } else {
    // A retired descriptor: its slots and string room are ours (kRefilling); readers
    // skip it (not live) and check its life word around every copy.
    Descriptor& d = s.descriptor(index);
    d.owner_pid.store(self.pid, std::memory_order_relaxed);
    d.state.store(layout::kClaimed | r.hash, std::memory_order_relaxed);
    layout::Slot* slots = s.slots() + d.slot_offset;
    for (uint32_t i = 0; i < d.slot_count; ++i) slots[i].store(0, std::memory_order_relaxed);
    Fill(s, d, r, d.strings, d.slot_offset);
  }
  Descriptor& d = s.descriptor(index);
  d.scope = layout::kScopeProcess;
  d.process_pid = self.pid;
  d.process_start = self.start;
  d.fold_target = target + 1;
  // Release: every field is written before a reader or retirer acquires kLiveOwned.
  d.life.store(layout::Life(layout::LifeGeneration(life), self.pid, layout::kLiveOwned),
               std::memory_order_release);
  d.state.store(layout::kPublished | r.hash, std::memory_order_release);
  return d;
}

// Takes this process's owner lock on the segment file (process_identity.h), on a
// descriptor of its own: one inherited across fork() is the parent's, and is kept
// open (the parent's lock then stays held while this child may use the handles it
// inherited, which reuse.h must know). The file is opened again by its path and
// checked to be the mapped one. REQUIRES: s.process_mutex held.
void HoldOwnerLock(detail::SegmentImpl& s, const process::Identity& self,
                   const std::string& series) {
  if (s.owner_lock_fd >= 0) s.inherited_lock_fds.push_back(s.owner_lock_fd);
  std::string problem;
  s.owner_lock_fd = detail::ReopenOwn(s, &problem);
  if (s.owner_lock_fd >= 0 && !process::LockOwner(s.owner_lock_fd, self))
    problem = std::strerror(errno);
  if (problem.empty()) return;
  if (s.owner_lock_fd >= 0) ::close(s.owner_lock_fd);
  s.owner_lock_fd = -1;
  throw Error(Errc::kSystem,
              fmt::format("cannot register process-scoped {}: taking the owner lock on {}: {}",
                          series, s.path, problem));
}

// Find-or-create of this process's series for r: the shared series of the key (the
// aggregate a retirement folds into) is registered first, then this process's own.
const Descriptor& FindOrCreateInProcess(detail::SegmentImpl& s, const Request& r) {
  const Descriptor& target = FindOrCreate(s, r);
  // A process gauge is combined as its aggregate says: registering it otherwise is a
  // mistake the caller must hear of (its mode would silently not apply).
  if (r.type == MetricType::kGauge) {
    const uint8_t mine = CombineByte(r);
    if (mine != target.gauge_combine)
      throw Error(Errc::kTypeMismatch,
                  fmt::format("{} is already registered with another way of combining its "
                              "processes' gauges (combine byte {:#x}, not {:#x})",
                              SeriesName(r), target.gauge_combine, mine));
  }
  const auto target_index = static_cast<uint32_t>(&target - &s.descriptor(0));
  const process::Identity self = process::Self();
  std::lock_guard lock(s.process_mutex);
  if (s.process_cache_pid != self.pid) {  // first use, or a child after fork()
    s.process_cache.clear();
    HoldOwnerLock(s, self, SeriesName(r));
    s.process_cache_pid = self.pid;
  }
  if (auto it = s.process_cache.find(r.hash); it != s.process_cache.end()) {
    const Descriptor& d = s.descriptor(it->second);
    if (layout::LifePhaseOf(d.life.load(std::memory_order_acquire)) == layout::kLiveOwned &&
        d.process_pid == self.pid && d.process_start == self.start && SameKey(s, d, r)) {
      CheckCompatible(s, d, r);
      return d;
    }
  }
  const Descriptor& d = ClaimProcessSeries(s, r, self, target_index);
  s.process_cache[r.hash] = static_cast<uint32_t>(&d - &s.descriptor(0));
  return d;
}

// This process's producer record (producers.h), made at its first registration,
// with its owner lock taken (as for a process-scoped series) so that readers can tell
// whether it lives. Neither a full table nor a refused lock fails the registration.
uint64_t AttachProducer(detail::SegmentImpl& s) {
  // Attached already (every registration but the first), or the record forgone: no
  // lock, no system call.
  if (s.producer_pid.load(std::memory_order_acquire) == process::SelfPid()) return s.producer_ref;
  std::lock_guard lock(s.process_mutex);
  if (s.producer_pid.load(std::memory_order_relaxed) == process::SelfPid()) return s.producer_ref;
  const process::Identity self = process::Self();
  if (s.process_cache_pid != self.pid) {  // first use, or a child after fork()
    try {
      HoldOwnerLock(s, self, "the producer record");
      s.process_cache.clear();
      s.process_cache_pid = self.pid;
    } catch (const Error&) {
      // Readers then judge this producer by its /proc entry; a process-scoped
      // registration tries the lock again and reports the failure. A child it forks
      // could hold its handles unseen: no deleted room goes to another key any more
      // (before the record is published, which a reuser sees, reuse.h).
      s.header().reuse_flags.fetch_or(layout::kReuseOff, std::memory_order_seq_cst);
    }
  }
  s.producer_ref = producers::Attach(s, self);
  reuse::Enlist(s);
  s.producer_pid.store(self.pid, std::memory_order_release);
  return s.producer_ref;
}

// The series r names for this process: shared or process-scoped; past its family's
// limit, the family's overflow series (counted).
const Descriptor& Register(detail::SegmentImpl& s, Request& r) {
  reuse::BeginRegistration();
  s.CountRegistration();
  r.producer = AttachProducer(s);
  auto find = [&s](const Request& q) -> const Descriptor& {
    return q.spec.scope == Scope::kProcess ? FindOrCreateInProcess(s, q) : FindOrCreate(s, q);
  };
  try {
    return find(r);
  } catch (const FamilyFull&) {
  }
  Request overflow = r;
  overflow.labels = names::OverflowLabels();
  overflow.hash = names::KeyHash(r.spec.name, overflow.labels);
  overflow.overflow = true;
  const Descriptor& d = find(overflow);
  // The family's record: the overflow series' (shared, or its process series' aggregate).
  const Descriptor& shared = d.scope == layout::kScopeShared ? d : s.descriptor(d.fold_target - 1);
  if (layout::FamilyRecord* f = families::Record(s, shared.family_slot - 1))
    f->overflowed.fetch_add(1, std::memory_order_relaxed);
  s.header().overflowed.fetch_add(1, std::memory_order_relaxed);
  return d;
}

// Stripes of a striped metric: this machine's CPUs, rounded up to a power of two.
uint8_t StripeCount() {
  auto cpus = static_cast<uint32_t>(std::max(get_nprocs_conf(), 1));
  return static_cast<uint8_t>(std::min(std::bit_ceil(cpus), layout::kMaxStripes));
}

Request MakeRequest(MetricType type, const MetricSpec& spec, const Buckets* b,
                    Striping striping = Striping::kShared) {
  bool histogram = type == MetricType::kHistogram;
  Request r{type,
            spec,
            names::CheckSpecAndEncodeLabels(spec, histogram),
            {},
            0,
            0,
            type == MetricType::kGauge ? layout::kGaugeSlots : layout::kCounterSlots,
            0};
  if (type == MetricType::kGauge && spec.combine == GaugeCombine::kMostRecent)
    r.slots = 2;  // [value][Unix ns of the last write]
  if (striping == Striping::kPerCpu) r.stripes = StripeCount();
  if (histogram) r.buckets = buckets::Make(*b);
  if (type != MetricType::kGauge)
    r.slots = layout::MetricSlots(
        histogram ? static_cast<uint32_t>(r.buckets.bounds.size() + 1) : 0, r.stripes);
  r.hash = names::KeyHashes(spec.name, r.labels, &r.family);
  r.overflow = r.labels == names::OverflowLabels();
  return r;
}

}  // namespace

// The slots of a published descriptor, checked against the segment's geometry and
// its own layout (striping included).
layout::Slot* detail::CheckedSlots(const SegmentImpl& s, const layout::Descriptor& d) {
  const uint32_t buckets =
      d.type == static_cast<uint8_t>(MetricType::kHistogram) ? d.bucket_count : 0;
  const bool stripes_ok =
      layout::ValidStripes(d.stripes) &&
      (!layout::Striped(d.stripes) || d.type != static_cast<uint8_t>(MetricType::kGauge)) &&
      (d.type != static_cast<uint8_t>(MetricType::kHistogram) || buckets >= 2);
  const uint32_t needed = !stripes_ok ? UINT32_MAX
                          : d.type == static_cast<uint8_t>(MetricType::kGauge)
                              ? layout::kGaugeSlots
                              : layout::MetricSlots(buckets, d.stripes);
  if (d.slot_offset % layout::kCacheLineSlots != 0 || d.slot_count < needed ||
      uint64_t{d.slot_offset} + d.slot_count > s.max_slots)
    throw Error(Errc::kCorrupt,
                fmt::format("segment {} is corrupt: a descriptor has slots {}+{} of {}", s.path,
                            d.slot_offset, d.slot_count, s.max_slots));
  return s.slots() + d.slot_offset;
}

Counter Segment::RegisterCounter(const MetricSpec& spec, Striping striping) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kCounter, spec, nullptr, striping);
  const Descriptor& d = Register(*impl_, r);
  Counter c;
  c.slot_ = detail::CheckedSlots(*impl_, d);
  if (layout::Striped(d.stripes)) c.stripe_mask_ = d.stripes - 1u;
  return c;
}

FloatCounter Segment::RegisterFloatCounter(const MetricSpec& spec) {
  impl_->RequireWritable("register metrics");
  if (spec.scope != Scope::kShared)
    throw Error(Errc::kInvalidArgument,
                fmt::format("{}: a float counter is shared by every process: register it "
                            "with Scope::kShared",
                            spec.name));
  Request r = MakeRequest(MetricType::kCounter, spec, nullptr);
  r.flags = layout::kFlagFloatCounter;
  FloatCounter c;
  c.slot_ = detail::CheckedSlots(*impl_, Register(*impl_, r));
  return c;
}

Gauge Segment::RegisterGauge(const MetricSpec& spec) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kGauge, spec, nullptr);
  return Gauge(detail::CheckedSlots(*impl_, Register(*impl_, r)));
}

Histogram Segment::RegisterHistogram(const MetricSpec& spec, const Buckets& buckets,
                                     Striping striping) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kHistogram, spec, &buckets, striping);
  const Descriptor& d = Register(*impl_, r);
  layout::Slot* slots = detail::CheckedSlots(*impl_, d);
  Histogram h;
  h.slots_ = slots;
  if (layout::Striped(d.stripes)) {
    h.stripe_mask_ = static_cast<uint8_t>(d.stripes - 1);
    h.stripe_stride_ = static_cast<uint16_t>(layout::StripeStride(d.bucket_count));
  }
  if (d.bucket_kind == layout::kExponential) {
    // The handle's key of a bucket is its native index + 2^(10 + schema) (see
    // Histogram::ExponentialIndex); r's bounds are the descriptor's.
    h.shift_ = std::max<int>(d.schema, 0);
    h.coarse_shift_ = static_cast<uint8_t>(std::max<int>(-d.schema, 0));
    h.native_ = buckets::NativeCells(h.shift_);
    h.min_key_ = d.min_key + (int64_t{1} << (10 + d.schema));
    h.last_ = (d.bucket_count - 3) / 2;
    h.zero_bits_ = std::bit_cast<uint64_t>(r.buckets.bounds[h.last_ + 1]);
  } else if (const buckets::Table* t = impl_->bucket_tables.Get(r.buckets.bounds)) {
    // r's bounds are the descriptor's: we wrote them, or CheckCompatible compared them.
    h.kind_ = Histogram::kTable;
    h.cells_ = t->cells.data();
    h.min_key_ = t->min_key;
    h.last_ = t->last_key;
    h.shift_ = t->shift;
  } else {
    h.kind_ = Histogram::kSearch;
    h.bounds_ = slots + layout::BoundsOffset(d.bucket_count, d.stripes);
    h.n_bounds_ = static_cast<uint16_t>(d.bucket_count - 1);
  }
  return h;
}

uint32_t Segment::RetireExited() {
  impl_->RequireWritable("retire process-scoped series");
  detail::CheckMappedSize(*impl_);
  process::Liveness live(impl_->fd());
  return process::RetireExited(*impl_, live);
}

}  // namespace shmstats
