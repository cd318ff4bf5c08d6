// SPDX-License-Identifier: Apache-2.0
// Deleted shared series given to another key (reuse.h; docs/segment-format.md,
// "Deleted series").

#include "reuse.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "ownership.h"
#include "process_identity.h"
#include "process_series.h"
#include "shmstats/error.h"

namespace shmstats::reuse {
namespace {

using layout::Descriptor;

// Bytes of the segment file whose locks announce recordless registrants and resets:
// beyond any segment's end, below every owner lock byte (process_identity.h).
constexpr off_t kRecordlessByte = (off_t{1} << 62) - 1;
constexpr off_t kResetByte = (off_t{1} << 62) - 2;

// True if an open file description other than fd's holds a lock on `byte`; true
// too if the kernel cannot tell (the caller then does not reuse).
bool LockedByOthers(int fd, off_t byte) { return process::ByteLocked(fd, byte).value_or(true); }

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A failed search is not repeated for this long, for a key at least as large, unless a
// series was deleted since: a flood of new keys into a full segment costs one scan per
// period, not one each.
constexpr int64_t kMissPeriodNs = 20'000'000;

std::atomic<uint64_t> registrations_begun{0};  // in this process (BeginRegistration)

// A producer record that may hold handles: its process started at `start` (0:
// unknown: a record being claimed, or a start that is no tick) and dropped every handle to series
// deleted before `dropped`.
struct Holder {
  uint64_t start;
  uint64_t dropped;
  bool Blocks(uint64_t deleted_tick) const {
    // One tick of slack either way: the deletion's tick and the start time are both
    // rounded down to a tick.
    return start <= deleted_tick + 1 && dropped <= deleted_tick + 1;
  }
};

// The records that may hold a handle to a series deleted at max_tick or before, or
// false if some producer is not in the table (the table is absent or refused one).
bool Holders(const detail::SegmentImpl& s, uint64_t max_tick, std::vector<Holder>* out) {
  const layout::Header& h = s.header();
  if (s.producer_capacity == 0 || h.producers_refused.load(std::memory_order_seq_cst) != 0)
    return false;
  const auto used = static_cast<uint32_t>(
      std::min<uint64_t>(h.producers_used.load(std::memory_order_seq_cst), s.producer_capacity));
  const uint64_t now = NowTick();
  for (uint32_t i = 0; i < used; ++i) {
    const layout::ProducerRecord& r = s.producer(i);
    // Seq_cst, as the attach that published it: a registrant's record is visible to
    // whoever saw the deletion that followed its lookup (registry.cc, Linked).
    const uint64_t state = r.state.load(std::memory_order_seq_cst);
    const uint64_t phase = layout::ProducerPhaseOf(state);
    if (phase == layout::kProducerClaiming) {
      if (!detail::OwnerDead(layout::ProducerActor(state))) out->push_back({0, 0});
      continue;
    }
    if (phase != layout::kProducerAttached) continue;
    // A start later than now is no clock tick: a boot-clock token (the producer could
    // not read its /proc entry, process_identity.h) or another clock. Unknown: it
    // counts as started before every deletion.
    const uint64_t start = r.start > now + 1 ? 0 : r.start;
    const Holder holder{start, r.dropped_before.load(std::memory_order_acquire)};
    if (!holder.Blocks(max_tick)) continue;  // started, or dropped, after every deletion
    if (process::Holding(s.fd(), r.pid, r.start)) out->push_back(holder);
  }
  return true;
}

// Index entries' last words: an old key's entry rewritten so that lookups step over
// it and inserts never take it.
constexpr uint64_t kTombstone = 0xffffffff00000000ull;

// The index entry on hash's chain that links descriptor `index`, or nullptr.
std::atomic<uint64_t>* LinkOf(const detail::SegmentImpl& s, uint64_t hash, uint32_t index,
                              uint64_t* entry) {
  const uint64_t want = layout::IndexEntry(hash, index);
  for (uint32_t k = 0; k < layout::ProbeLength(s.index_entries); ++k) {
    std::atomic<uint64_t>& e = s.series_entry(layout::Probe(hash, k, s.index_entries));
    *entry = e.load(std::memory_order_acquire);
    if (*entry == 0) return nullptr;
    if (*entry == want) return &e;
  }
  return nullptr;
}

constexpr uint64_t kTickBits = 40;
constexpr uint64_t kTickMask = (uint64_t{1} << kTickBits) - 1;
constexpr uint64_t kGenerationMask = (uint64_t{1} << 24) - 1;

// d's deletion tick under gone word `gone` (kDeleted), or 0 while its deleter, alive,
// has not stamped it yet. One that died first is counted and stamped here: now is
// later than the deletion, and the count comes first, as Delete does it, so that a
// cache that declares its handles dropped (DroppedBefore) saw it.
uint64_t DeletionTick(const detail::SegmentImpl& s, Descriptor& d, uint64_t gone) {
  const uint64_t generation = layout::GoneGeneration(gone);
  const uint64_t tag = (generation & kGenerationMask) << kTickBits;
  uint64_t stamp = d.deleted_tick.load(std::memory_order_seq_cst);
  if ((stamp & ~kTickMask) != tag || (stamp & kTickMask) == 0) {
    if (layout::GonePhaseOf(gone) == layout::kDeleted &&
        !detail::OwnerDead(layout::GoneActor(gone)))
      return 0;
    s.header().deleted.fetch_add(1, std::memory_order_seq_cst);
    StampDeleted(d, generation);
    stamp = d.deleted_tick.load(std::memory_order_seq_cst);
  }
  return stamp & kTickMask;
}

// True in a segment whose records all say what reuse needs (layout.h, reuse_flags).
// Seq_cst, as the producer that sets kReuseOff before publishing its record.
bool ReuseOn(const layout::Header& h) {
  return (h.reuse_flags.load(std::memory_order_seq_cst) &
          (layout::kReuseRecords | layout::kReuseOff)) == layout::kReuseRecords;
}

struct Candidate {
  uint32_t index;
  uint64_t gone;
  uint64_t tick;
};

}  // namespace

uint64_t NowTick() {
  static const long hz = ::sysconf(_SC_CLK_TCK) > 0 ? ::sysconf(_SC_CLK_TCK) : 100;
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * static_cast<uint64_t>(hz) +
         static_cast<uint64_t>(ts.tv_nsec) / (1'000'000'000u / static_cast<uint64_t>(hz));
}

void StampDeleted(Descriptor& d, uint64_t generation) {
  const uint64_t tag = (generation & kGenerationMask) << kTickBits;
  uint64_t stamp = d.deleted_tick.load(std::memory_order_seq_cst);
  while ((stamp & ~kTickMask) != tag || (stamp & kTickMask) == 0) {
    if (d.deleted_tick.compare_exchange_weak(stamp, tag | (NowTick() & kTickMask),
                                             std::memory_order_seq_cst))
      return;
  }
}

void BeginRegistration() noexcept { registrations_begun.fetch_add(1, std::memory_order_seq_cst); }

bool AnnounceRecordless(detail::SegmentImpl& s) {
  std::lock_guard lock(s.announce_mutex);
  if (s.recordless_fd >= 0) return true;
  // A descriptor of its own, so that this process's reuses see it too (a lock of the
  // tester's own open file description is invisible to F_OFD_GETLK).
  std::string problem;
  s.recordless_fd = detail::ReopenOwn(s, &problem);
  if (s.recordless_fd < 0) return false;
  s.recordless_pid = process::SelfPid();
  s.recordless_forks = process::Forks();
  if (process::LockByte(s.recordless_fd, kRecordlessByte, F_RDLCK)) return true;
  ::close(s.recordless_fd);
  s.recordless_fd = -1;
  return false;
}

ResetAnnouncement::ResetAnnouncement(const detail::SegmentImpl& s) {
  std::string problem;
  fd_ = detail::ReopenOwn(s, &problem);
  if (fd_ >= 0 && !process::LockByte(fd_, kResetByte, F_RDLCK)) {
    problem = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
  if (fd_ < 0)
    throw Error(Errc::kSystem,
                fmt::format("cannot reset metrics: announcing the reset on {} (so that no "
                            "deleted series' room goes to another key meanwhile): {}",
                            s.path, problem));
}

ResetAnnouncement::~ResetAnnouncement() { ::close(fd_); }  // the lock goes with it

uint32_t Take(const detail::SegmentImpl& s, uint32_t slots, uint64_t bytes, uint32_t self,
              uint64_t* gone_out) {
  layout::Header& h = s.header();
  if (!ReuseOn(h)) return kNone;
  const uint64_t deletions = h.deleted.load(std::memory_order_relaxed);
  // A miss for a key no larger in both slots and string bytes covers this one: every
  // room that fits this key fits that one.
  const uint64_t size =
      (std::min<uint64_t>(slots, 0xffffffffu) << 32) | std::min<uint64_t>(bytes, 0xffffffffu);
  const uint64_t miss = s.reuse_miss_ns.load(std::memory_order_relaxed);
  const uint64_t missed_size = s.reuse_miss_size.load(std::memory_order_relaxed);
  if (miss != 0 && NowNs() - static_cast<int64_t>(miss) < kMissPeriodNs &&
      s.reuse_miss_deletions.load(std::memory_order_relaxed) == deletions &&
      (size >> 32) >= (missed_size >> 32) && (size & 0xffffffffu) >= (missed_size & 0xffffffffu))
    return kNone;
  auto missed = [&] {
    s.reuse_miss_deletions.store(deletions, std::memory_order_relaxed);
    s.reuse_miss_size.store(size, std::memory_order_relaxed);
    s.reuse_miss_ns.store(static_cast<uint64_t>(NowNs()), std::memory_order_relaxed);
    return kNone;
  };

  // Deleted descriptors that fit, each with its deletion tick.
  std::vector<Candidate> candidates;
  uint64_t max_tick = 0;
  const uint32_t used = s.series_used();
  for (uint32_t i = 0; i < used; ++i) {
    Descriptor& d = s.descriptor(i);
    if (d.scope != layout::kScopeShared || d.life.load(std::memory_order_relaxed) != 0) continue;
    uint64_t gone = d.gone.load(std::memory_order_seq_cst);
    const uint64_t phase = layout::GonePhaseOf(gone);
    if (phase != layout::kDeleted &&
        (phase != layout::kGoneRefilling || !detail::OwnerDead(layout::GoneActor(gone))))
      continue;
    if (d.slot_count < slots || d.string_capacity < bytes ||
        d.slot_offset % layout::kCacheLineSlots != 0 ||
        uint64_t{d.slot_offset} + d.slot_count > s.max_slots || d.strings > s.string_bytes ||
        d.string_capacity > s.string_bytes - d.strings)
      continue;
    const uint64_t state = d.state.load(std::memory_order_acquire);
    if (phase == layout::kGoneRefilling && (state & layout::kStateMask) == layout::kClaimed) {
      uint64_t entry = 0;
      if (LinkOf(s, state & layout::kHashMask, i, &entry)) {
        RollForward(s, d, gone);  // linked: its key's series, finished for it
        continue;
      }
    }
    const uint64_t tick = DeletionTick(s, d, gone);
    if (tick == 0) continue;
    candidates.push_back({i, gone, tick});
    max_tick = std::max(max_tick, tick);
  }
  if (candidates.empty()) return missed();

  // Who may still hold handles, and writers working from a copy. A recordless
  // process (statsctl's one-shot commands) sees its own announcement through s.fd()
  // and is blocked by it, unless this is the first registration it began and it
  // opened that announcement and never forked since (a child would share it): then
  // no handle hides behind it, and one its other threads (or a child forked from
  // now on) take is looked up after these deletions. The announcement's own open
  // file description does not see its own lock.
  int recordless_probe = s.fd();
  if (registrations_begun.load(std::memory_order_seq_cst) == 1) {
    std::lock_guard lock(s.announce_mutex);
    if (s.recordless_fd >= 0 && s.recordless_pid == process::SelfPid() &&
        s.recordless_forks == process::Forks())
      recordless_probe = s.recordless_fd;
  }
  std::vector<Holder> holders;
  if (!Holders(s, max_tick, &holders) || !ReuseOn(h) || LockedByOthers(s.fd(), kResetByte) ||
      LockedByOthers(recordless_probe, kRecordlessByte))
    return missed();

  // Descriptors a process series may still fold into (not retired yet).
  auto folding = [&s, used] {
    std::unordered_set<uint32_t> targets;
    for (uint32_t i = 0; i < used; ++i) {
      const Descriptor& p = s.descriptor(i);
      const uint64_t life = p.life.load(std::memory_order_acquire);
      if (life != 0 && layout::LifePhaseOf(life) != layout::kRetired && p.fold_target != 0)
        targets.insert(p.fold_target - 1);
    }
    return targets;
  };
  std::unordered_set<uint32_t> targets = folding();
  bool retired = false;
  for (const Candidate& c : candidates) {
    bool blocked = false;
    for (const Holder& holder : holders) blocked = blocked || holder.Blocks(c.tick);
    if (blocked) continue;
    if (targets.count(c.index) && !retired) {  // series of exited owners: fold them first
      process::Liveness live(s.fd());
      process::RetireExited(s, live);
      targets = folding();
      retired = true;
    }
    if (targets.count(c.index)) continue;
    Descriptor& d = s.descriptor(c.index);
    uint64_t gone = c.gone;
    const uint64_t mine =
        layout::Gone(layout::GoneGeneration(gone) + 1, self, layout::kGoneRefilling);
    if (!d.gone.compare_exchange_strong(gone, mine, std::memory_order_seq_cst)) continue;
    // The old key's entry first (the state still names the old key, unless a refill
    // that died already replaced it): its lookups then step over it.
    const uint64_t state = d.state.load(std::memory_order_acquire);
    uint64_t entry = 0;
    if (std::atomic<uint64_t>* link = LinkOf(s, state & layout::kHashMask, c.index, &entry))
      link->compare_exchange_strong(entry, kTombstone, std::memory_order_seq_cst);
    d.exemplars.store(0, std::memory_order_relaxed);
    d.owner_pid.store(self, std::memory_order_relaxed);
    layout::Slot* values = s.slots() + d.slot_offset;
    for (uint32_t i = 0; i < d.slot_count; ++i) values[i].store(0, std::memory_order_relaxed);
    *gone_out = mine;
    return c.index;
  }
  return missed();
}

void Publish(const detail::SegmentImpl& s, Descriptor& d, uint64_t gone) {
  // The gone word first: a lookup that sees `refilling` then always sees the state
  // still `claimed` (or the old key's), and one that sees `present` with the state
  // `claimed` publishes it for us, as for any linked claim (registry.cc, Linked).
  if (d.gone.compare_exchange_strong(
          gone,
          layout::Gone(layout::GoneGeneration(gone), layout::GoneActor(gone), layout::kPresent),
          std::memory_order_seq_cst))
    s.header().refilled.fetch_add(1, std::memory_order_relaxed);
  uint64_t state = d.state.load(std::memory_order_acquire);
  // Release: readers that see it published see every field, string and slot.
  if ((state & layout::kStateMask) == layout::kClaimed)
    d.state.compare_exchange_strong(state, layout::kPublished | (state & layout::kHashMask),
                                    std::memory_order_acq_rel, std::memory_order_acquire);
}

void GiveBack(Descriptor& d, uint64_t gone) {
  // Abandoned first: a lookup of the new key reaching d through a stale copy of the
  // old key's entry (equal tag) then never finds it claimed or published, so never
  // publishes and revives it as a second series of that key. Take ignores the state.
  const uint64_t state = d.state.load(std::memory_order_acquire);
  d.state.store(layout::kAbandoned | (state & layout::kHashMask), std::memory_order_seq_cst);
  // Its deletion's tick, kept under the generation it now has.
  const uint64_t stamp = d.deleted_tick.load(std::memory_order_seq_cst);
  if ((stamp & kTickMask) != 0)
    d.deleted_tick.store(
        ((layout::GoneGeneration(gone) & kGenerationMask) << kTickBits) | (stamp & kTickMask),
        std::memory_order_seq_cst);
  d.gone.compare_exchange_strong(
      gone, layout::Gone(layout::GoneGeneration(gone), layout::GoneActor(gone), layout::kDeleted),
      std::memory_order_seq_cst);
}

uint64_t RollForward(const detail::SegmentImpl& s, Descriptor& d, uint64_t gone) {
  if (layout::GonePhaseOf(gone) == layout::kGoneRefilling &&
      detail::OwnerDead(layout::GoneActor(gone)))
    Publish(s, d, gone);
  return d.gone.load(std::memory_order_seq_cst);
}

namespace {
// This process's Segment objects that registered series (reuse.h, Enlist).
std::mutex enlisted_mutex;
std::vector<detail::SegmentImpl*>& Enlisted() {
  static auto* enlisted = new std::vector<detail::SegmentImpl*>;  // outlives static destructors
  return *enlisted;
}
}  // namespace

void Enlist(detail::SegmentImpl& s) {
  std::lock_guard lock(enlisted_mutex);
  auto& all = Enlisted();
  if (std::find(all.begin(), all.end(), &s) == all.end()) all.push_back(&s);
}

void Delist(detail::SegmentImpl& s) {
  std::lock_guard lock(enlisted_mutex);
  std::erase(Enlisted(), &s);
}

void DroppedBefore(detail::SegmentImpl& s, uint64_t mark) {
  std::lock_guard lock(enlisted_mutex);
  s.dropped_mark = std::max(s.dropped_mark, mark);
  // The record speaks for the whole process: the least of its mappings' marks (a
  // mapping of the same file that registered and never declared one gives 0).
  uint64_t least = s.dropped_mark;
  for (const detail::SegmentImpl* other : Enlisted())
    if (other->dev == s.dev && other->ino == s.ino) least = std::min(least, other->dropped_mark);
  // producer_pid is stored (release) after producer_ref: load it first.
  if (least == 0 || s.producer_pid.load(std::memory_order_acquire) != process::SelfPid()) return;
  const uint64_t ref = s.producer_ref;
  const auto index = static_cast<uint32_t>(ref) - 1;
  if (ref == 0 || index >= s.producer_capacity) return;
  layout::ProducerRecord& r = s.producer(index);
  const uint64_t state = r.state.load(std::memory_order_acquire);
  if ((state >> 32) != (ref >> 32) || layout::ProducerPhaseOf(state) != layout::kProducerAttached ||
      r.pid != process::SelfPid())
    return;
  uint64_t old = r.dropped_before.load(std::memory_order_relaxed);
  while (old < least &&
         !r.dropped_before.compare_exchange_weak(old, least, std::memory_order_seq_cst)) {
  }
  // What this process's last search could not take, it may take now.
  if (old < least)
    for (detail::SegmentImpl* other : Enlisted())
      if (other->dev == s.dev && other->ino == s.ino)
        other->reuse_miss_ns.store(0, std::memory_order_relaxed);
}

}  // namespace shmstats::reuse

namespace shmstats {

uint64_t Segment::DeletionMark() noexcept { return reuse::NowTick(); }

void Segment::DroppedDeletedBefore(uint64_t mark) { reuse::DroppedBefore(*impl_, mark); }

}  // namespace shmstats
