// SPDX-License-Identifier: Apache-2.0
// Reading and resetting: every published descriptor is copied out of the segment
// and validated before any of its offsets or lengths is used. The segment is
// untrusted input; a bad descriptor becomes a problem string, never a crash.

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "buckets.h"
#include "exemplars.h"
#include "families.h"
#include "names.h"
#include "ownership.h"
#include "process_identity.h"
#include "process_series.h"
#include "reuse.h"
#include "segment_impl.h"
#include "shmstats/error.h"
#include "values.h"

namespace shmstats {
namespace {

using layout::Descriptor;

double AsDouble(uint64_t bits) { return std::bit_cast<double>(bits); }

using values::Located;
using values::Raw;
using values::RawDouble;

// Metadata of a published descriptor, checked; the slot range is checked too.
// Returns false for a descriptor that is not published (nothing to report), or that
// is invalid (then *problem says why).
bool ReadMeta(const detail::SegmentImpl& s, uint32_t index, MetricSnapshot* m, Located* where,
              std::string* problem) {
  const Descriptor& shared = s.descriptor(index);
  // A process-scoped descriptor (life != 0) changes when it is reused: its life word
  // is loaded before and after the copy (a seqlock), and a copy it does not bracket
  // unchanged, or that is not live, is left out.
  const uint64_t life = shared.life.load(std::memory_order_acquire);
  // A deleted shared series is hidden; its word is loaded again after its values
  // are (RecheckPresent), so that a revival's zeroing is never shown either.
  const uint64_t gone = shared.gone.load(std::memory_order_acquire);
  if (layout::GonePhaseOf(gone) != layout::kPresent) return false;
  uint64_t state = shared.state.load(std::memory_order_acquire);
  if ((state & layout::kStateMask) != layout::kPublished) return false;
  if (life != 0 && layout::LifePhaseOf(life) != layout::kLiveOwned) return false;
  // Published descriptors are immutable while live: copy once, check only the copy.
  Descriptor d;
  std::memcpy(static_cast<void*>(&d), static_cast<const void*>(&shared), sizeof d);
  std::atomic_thread_fence(std::memory_order_acquire);
  if (shared.life.load(std::memory_order_relaxed) != life ||
      shared.state.load(std::memory_order_relaxed) != state)
    return false;
  auto bad = [&](const std::string& why) {
    *problem = fmt::format("descriptor {}: {}", index, why);
    return false;
  };
  if ((life != 0) != (d.scope == layout::kScopeProcess) || d.scope > layout::kScopeProcess)
    return bad(fmt::format("scope {} does not match its life word", d.scope));
  if (d.type < 1 || d.type > 3) return bad(fmt::format("unknown metric type {}", d.type));
  if (d.name_len > kMaxNameBytes || d.labels_len > kMaxLabelBytes || d.help_len > kMaxHelpBytes ||
      d.unit_len > kMaxUnitBytes)
    return bad(fmt::format("field lengths {}/{}/{}/{} exceed their limits", d.name_len,
                           d.labels_len, d.help_len, d.unit_len));
  const uint64_t bytes = uint64_t{d.name_len} + d.labels_len + d.help_len + d.unit_len;
  if (d.strings > s.string_bytes || bytes > s.string_bytes - d.strings)
    return bad(fmt::format("strings {}+{} are outside the {} string bytes", d.strings, bytes,
                           s.string_bytes));
  // Copied out before any check: another writer could change shared bytes.
  std::string text(s.strings() + d.strings, bytes);
  // A deleted room given to another key (reuse.h) gets its strings after its new
  // state: a state unchanged after the copy says that they are this key's.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (shared.state.load(std::memory_order_relaxed) != state) return false;
  std::string_view rest(text);
  auto take = [&rest](size_t n) {
    std::string_view part = rest.substr(0, n);
    rest.remove_prefix(n);
    return part;
  };
  m->name = take(d.name_len);
  if (!names::IsValidMetricName(m->name)) return bad("invalid metric name");
  std::string_view labels = take(d.labels_len);
  std::string why;
  if (!names::DecodeLabels(labels, &m->labels, &why)) return bad(m->name + ": " + why);
  if (names::KeyHash(m->name, labels) != (state & layout::kHashMask))
    return bad(m->name + ": key hash does not match its name and labels");
  m->help = take(d.help_len);
  m->unit = take(d.unit_len);
  if (!names::IsValidUtf8(m->help) || !names::IsValidUtf8(m->unit))
    return bad(m->name + ": help or unit is not UTF-8");
  m->type = static_cast<MetricType>(d.type);
  m->index = index;
  m->producer = d.producer;
  if (d.flags != 0 && (d.flags != layout::kFlagFloatCounter || m->type != MetricType::kCounter ||
                       layout::Striped(d.stripes) || d.scope != layout::kScopeShared))
    return bad(fmt::format("{}: flags {:#x} do not fit a {} of this layout", m->name, d.flags,
                           TypeName(m->type)));
  m->fractional = d.flags == layout::kFlagFloatCounter;

  uint32_t buckets = 0;
  if (m->type == MetricType::kHistogram) {
    if (d.bucket_count < 2 || d.bucket_count > kMaxBuckets)
      return bad(fmt::format("{}: {} buckets is out of range", m->name, d.bucket_count));
    buckets = d.bucket_count;
  }
  if (!layout::ValidStripes(d.stripes) ||
      (layout::Striped(d.stripes) && m->type == MetricType::kGauge))
    return bad(fmt::format("{}: {} stripes is not a power of two up to {} (or a striped gauge)",
                           m->name, d.stripes, layout::kMaxStripes));
  if (d.gauge_combine != 0 &&
      (m->type != MetricType::kGauge ||
       (d.gauge_combine & ~(layout::kGaugeCombineMask | layout::kGaugeLiveOnly)) != 0))
    return bad(fmt::format("{}: gauge combine byte {:#x} does not fit a {}", m->name,
                           d.gauge_combine, TypeName(m->type)));
  const bool stamped = (d.gauge_combine & layout::kGaugeCombineMask) == layout::kGaugeMostRecent;
  const uint32_t needed = m->type == MetricType::kGauge ? layout::kGaugeSlots + (stamped ? 1 : 0)
                                                        : layout::MetricSlots(buckets, d.stripes);
  if (d.slot_offset % layout::kCacheLineSlots != 0 || d.slot_count < needed ||
      uint64_t{d.slot_offset} + d.slot_count > s.max_slots)
    return bad(fmt::format("{}: slots {}+{} are outside the {} slots (or too few)", m->name,
                           d.slot_offset, d.slot_count, s.max_slots));
  *where = values::Locate(d);
  where->hash = state & layout::kHashMask;
  where->life = life;
  where->process_pid = d.process_pid;
  where->process_start = d.process_start;
  where->fold_target = d.fold_target;
  where->gone = gone;
  m->generation = static_cast<uint32_t>(layout::GoneGeneration(gone));
  m->ttl_seconds = d.scope == layout::kScopeShared ? d.ttl_seconds : 0;
  if (life == 0) where->exemplars = shared.exemplars.load(std::memory_order_acquire);
  where->gauge_combine = d.gauge_combine;
  if (m->type != MetricType::kHistogram) return true;

  HistogramValue& h = m->histogram;
  const layout::Slot* bounds =
      s.slots() + d.slot_offset + layout::BoundsOffset(d.bucket_count, d.stripes);
  h.bounds.resize(d.bucket_count - 1);
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    h.bounds[i] = std::bit_cast<double>(bounds[i].load(std::memory_order_relaxed));
    if (!std::isfinite(h.bounds[i]) || (i > 0 && !(h.bounds[i - 1] < h.bounds[i])))
      return bad(m->name + ": bucket bounds are not finite and increasing");
  }
  if (d.bucket_kind == layout::kExponential) {
    std::vector<double> expected;
    const uint32_t n = (d.bucket_count - 3) / 2;
    if (!buckets::ExponentialBounds(d.schema, d.min_key, d.bucket_count,
                                    d.bucket_count >= 5 ? h.bounds[n + 1] : 0, &expected) ||
        expected != h.bounds)
      return bad(m->name + ": exponential bucket parameters do not match its bounds");
    h.exponential = true;
    h.schema = d.schema;
    h.first_index = d.min_key;
    h.zero_threshold = h.bounds[n + 1];
  } else if (d.bucket_kind != layout::kExplicit) {
    return bad(fmt::format("{}: unknown bucket kind {}", m->name, d.bucket_kind));
  }
  return true;
}

// A counter (or bucket) value with its reset total: visible = raw - reset (mod 2^64),
// raw being the sum of the stripes' slots at `at`. With take, moves the visible value
// into the reset total (a CAS loop: concurrent resets each take a disjoint part) and
// returns what it moved; the stripes are left alone, so recording loses nothing. The
// reset total is loaded with acquire before the stripes, so each stripe is never older
// than the one a reset summed: the difference never goes below zero.
uint64_t Offset(const layout::Slot* slots, const Located& where, uint32_t at, layout::Slot& reset,
                bool take, uint64_t* reset_total) {
  uint64_t r = reset.load(std::memory_order_acquire);
  for (;;) {
    uint64_t v = Raw(slots, where, at);
    if (!take) {
      *reset_total = r;
      return v - r;
    }
    if (reset.compare_exchange_weak(r, v, std::memory_order_acq_rel, std::memory_order_acquire)) {
      *reset_total = v;
      return v - r;
    }
  }
}

// The same for a double (a histogram's sum, a float counter).
double OffsetDouble(const layout::Slot* slots, const Located& where, layout::Slot& reset, bool take,
                    double* reset_total) {
  uint64_t r = reset.load(std::memory_order_acquire);
  for (;;) {
    const double v = RawDouble(slots, where);
    const uint64_t bits = std::bit_cast<uint64_t>(v);
    if (!take || reset.compare_exchange_weak(r, bits, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
      *reset_total = take ? v : AsDouble(r);
      return v - AsDouble(r);
    }
  }
}

// Reads (or, with take, resets and returns) the values of a validated metric,
// summing its stripes.
void ReadValues(const detail::SegmentImpl& s, const Located& where, MetricSnapshot* m, bool take) {
  layout::Slot* slots = s.slots() + where.slot_offset;
  layout::Slot* reset = slots + where.reset;
  switch (m->type) {
    case MetricType::kCounter:
      if (m->fractional) {
        m->counter_double =
            OffsetDouble(slots, where, *reset, take, &m->counter_double_reset_total);
        m->counter = WholePart(m->counter_double);
        m->counter_reset_total = WholePart(m->counter_double_reset_total);
      } else {
        m->counter = Offset(slots, where, 0, *reset, take, &m->counter_reset_total);
      }
      break;
    case MetricType::kGauge:
      m->gauge = AsDouble(take ? slots[0].exchange(0, std::memory_order_relaxed)
                               : slots[0].load(std::memory_order_relaxed));
      break;
    case MetricType::kHistogram: {
      HistogramValue& h = m->histogram;
      const auto n = static_cast<uint32_t>(h.bounds.size() + 1);
      h.sum = OffsetDouble(slots, where, reset[0], take, &h.reset_sum);
      h.counts.resize(n);
      h.reset_counts.resize(n);
      h.count = 0;
      for (uint32_t i = 0; i < n; ++i)
        h.count += h.counts[i] =
            Offset(slots, where, 1 + i, reset[1 + i], take, &h.reset_counts[i]);
      break;
    }
  }
}

// True if the series read under `where` is still shown: not deleted (nor revived)
// since, and for a process-scoped series, its aggregate neither.
bool StillPresent(const detail::SegmentImpl& s, const MetricSnapshot& m, const Located& where) {
  std::atomic_thread_fence(std::memory_order_acquire);
  if (where.life == 0)
    return s.descriptor(m.index).gone.load(std::memory_order_relaxed) == where.gone;
  if (where.fold_target == 0 || where.fold_target > s.series_used()) return true;  // reported later
  return layout::GonePhaseOf(
             s.descriptor(where.fold_target - 1).gone.load(std::memory_order_acquire)) ==
         layout::kPresent;
}

template <class Visit>
void ForEachPublished(const detail::SegmentImpl& s, std::vector<std::string>* problems,
                      Visit visit) {
  for (uint32_t i = 0, n = s.series_used(); i < n; ++i) {
    MetricSnapshot m;
    Located where;
    std::string problem;
    if (ReadMeta(s, i, &m, &where, &problem))
      visit(m, where);
    else if (!problem.empty() && problems)
      problems->push_back(std::move(problem));
  }
}

// Hash -> index, the first inserted winning: open addressing in one allocation, sized
// for `expected` entries and doubled when half full. (std::unordered_map made a node
// allocation per entry: two per series, most of a read pass at 100,000 series.)
class HashToIndex {
 public:
  explicit HashToIndex(size_t expected) {
    size_t capacity = 16;
    while (capacity < 2 * expected) capacity <<= 1;
    slots_.assign(capacity, {0, kEmpty});
  }
  // Stores `index` under `hash` unless `hash` is there: returns the stored index and
  // whether it is this one.
  std::pair<size_t, bool> Emplace(uint64_t hash, size_t index) {
    if (2 * (size_ + 1) > slots_.size()) Grow();
    size_t& v = Slot(hash);
    if (v != kEmpty) return {v, false};
    v = index;
    ++size_;
    return {index, true};
  }
  // The index stored under `hash`, or nullptr.
  const size_t* Find(uint64_t hash) const {
    for (size_t i = Start(hash);; i = (i + 1) & (slots_.size() - 1)) {
      const auto& [h, v] = slots_[i];
      if (v == kEmpty) return nullptr;
      if (h == hash) return &v;
    }
  }

 private:
  static constexpr size_t kEmpty = ~size_t{0};
  // The slot of `hash`, or the empty one where it would go (its hash then set).
  size_t Start(uint64_t hash) const {
    return static_cast<size_t>((hash ^ (hash >> 29)) * 0x9e3779b97f4a7c15ULL >> 7) &
           (slots_.size() - 1);
  }
  size_t& Slot(uint64_t hash) {
    for (size_t i = Start(hash);; i = (i + 1) & (slots_.size() - 1)) {
      auto& [h, v] = slots_[i];
      if (v == kEmpty) {
        h = hash;
        return v;
      }
      if (h == hash) return v;
    }
  }
  void Grow() {
    std::vector<std::pair<uint64_t, size_t>> old(slots_.size() * 2, {0, kEmpty});
    old.swap(slots_);
    for (const auto& [h, v] : old) {
      if (v != kEmpty) Slot(h) = v;
    }
  }
  std::vector<std::pair<uint64_t, size_t>> slots_;
  size_t size_ = 0;
};

// A process-scoped series as read, with what combining it needs.
struct ProcessValue {
  uint64_t hash = 0;  // its key hash
  MetricSnapshot m;
  uint64_t stamp = 0;  // most-recent gauges: Unix ns of the last write
};

// How each shared series of a read combines its process series (gauges):
// Descriptor::gauge_combine, and the stamp of the value it holds so far.
struct Combining {
  uint8_t combine = 0;
  uint64_t stamp = 0;
};

// Combines a live process gauge into its aggregate as the aggregate's combine byte
// says: summed with the aggregate's own value, or the maximum, minimum or latest of
// the process values (the aggregate's own value is not one of them).
void CombineGauge(MetricSnapshot& into, Combining& how, const ProcessValue& p) {
  const bool first = into.process_series == 0;
  const double v = p.m.gauge;
  switch (how.combine & layout::kGaugeCombineMask) {
    case static_cast<uint8_t>(GaugeCombine::kMax):
      into.gauge = first ? v : std::max(into.gauge, v);
      break;
    case static_cast<uint8_t>(GaugeCombine::kMin):
      into.gauge = first ? v : std::min(into.gauge, v);
      break;
    case layout::kGaugeMostRecent:
      if (first || p.stamp >= how.stamp) {
        into.gauge = v;
        how.stamp = p.stamp;
      }
      break;
    default:
      into.gauge += v;
  }
}

// Adds a process-scoped series' values into its aggregate (same name and labels):
// false if their layouts differ.
bool AddInto(MetricSnapshot& into, Combining& how, const ProcessValue& pv) {
  const MetricSnapshot& p = pv.m;
  if (into.type != p.type) return false;
  switch (p.type) {
    case MetricType::kCounter:
      if (into.fractional || p.fractional) return false;  // float counters are never per process
      into.counter += p.counter;
      into.counter_reset_total += p.counter_reset_total;
      break;
    case MetricType::kGauge:
      CombineGauge(into, how, pv);
      break;
    case MetricType::kHistogram: {
      HistogramValue& h = into.histogram;
      if (h.bounds != p.histogram.bounds) return false;
      for (size_t i = 0; i < h.counts.size(); ++i) {
        h.counts[i] += p.histogram.counts[i];
        h.reset_counts[i] += p.histogram.reset_counts[i];
      }
      h.count += p.histogram.count;
      h.sum += p.histogram.sum;
      h.reset_sum += p.histogram.reset_sum;
      break;
    }
  }
  ++into.process_series;
  return true;
}

// Adds each process-scoped series into the shared series of its key in `metrics`
// (found through `series`, key hash -> index), or reports it.
// `combining` (parallel to metrics) says how; empty: every gauge is summed. Then
// drops the live-only gauges no live process series added into.
void Aggregate(std::vector<MetricSnapshot>& metrics, const HashToIndex& series,
               std::vector<ProcessValue>& process_series, std::vector<Combining>& combining,
               std::vector<std::string>* problems) {
  Combining sum;
  for (const ProcessValue& pv : process_series) {
    const MetricSnapshot& p = pv.m;
    const size_t* at = series.Find(pv.hash);
    MetricSnapshot* into = at ? &metrics[*at] : nullptr;
    Combining& how = at && *at < combining.size() ? combining[*at] : sum;
    if (!into || into->name != p.name || into->labels != p.labels || !AddInto(*into, how, pv))
      problems->push_back(fmt::format(
          "descriptor {}: process-scoped {} has no shared series of its type to add into", p.index,
          p.name));
  }
  if (combining.empty()) return;
  size_t kept = 0;
  for (size_t i = 0; i < metrics.size(); ++i) {
    if ((combining[i].combine & layout::kGaugeLiveOnly) && metrics[i].process_series == 0) continue;
    if (kept != i) metrics[kept] = std::move(metrics[i]);
    ++kept;
  }
  metrics.resize(kept);
}

// The life words of every descriptor below the cursor (0 for shared series).
std::vector<uint64_t> LifeWords(const detail::SegmentImpl& s) {
  std::vector<uint64_t> lives(s.series_used());
  for (uint32_t i = 0; i < lives.size(); ++i)
    lives[i] = s.descriptor(i).life.load(std::memory_order_acquire);
  return lives;
}

// The first descriptor whose values a fold may have moved to or from its aggregate
// while a read pass ran between the two life-word scans (one that was live and left
// that state, or was being folded by a live folder), or kStable. A fold whose folder
// died is taken as done, as retirement takes it.
constexpr uint32_t kStable = ~0u;
uint32_t Unstable(const detail::SegmentImpl& s, const std::vector<uint64_t>& before) {
  for (uint32_t i = 0; i < before.size(); ++i) {
    const uint64_t then = before[i];
    if (then == 0 || s.descriptor(i).scope != layout::kScopeProcess) continue;
    const uint64_t now = s.descriptor(i).life.load(std::memory_order_relaxed);
    if (layout::LifePhaseOf(then) == layout::kLiveOwned && now != then) return i;
    if ((layout::LifePhaseOf(then) == layout::kFolding ||
         layout::LifePhaseOf(now) == layout::kFolding) &&
        (now != then || process::ActorAlive(now)))
      return i;
  }
  return kStable;
}

Snapshot ReadPass(const detail::SegmentImpl& s, const std::vector<uint64_t>& before,
                  process::Liveness& live) {
  Snapshot snap;
  snap.taken_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  snap.instance_id = s.header().instance_id;
  // Corruption or a registration race can leave a series twice, or one family with
  // two types; exporters need neither, so such series are left out and reported.
  // Keyed by hashes (checked against the names on a hit) to spare an allocation per
  // metric: this loop is most of `statsctl list` on a large segment.
  HashToIndex series(s.series_used());  // key hash -> index in snap.metrics
  // hash of name -> index in snap.metrics: sized for a few families and grown as
  // needed (a segment's series are mostly a few families of many series each).
  HashToIndex families(64);
  std::vector<ProcessValue> process_series;
  std::vector<Combining> combining;  // parallel to snap.metrics
  // Room for every descriptor up front, and for what the caller appends (snapshot.h):
  // growing moved every metric read so far (memory reserved but never written costs
  // no page).
  snap.metrics.reserve(s.series_used() + kSnapshotSpare);
  ForEachPublished(s, &snap.problems, [&](MetricSnapshot& m, const Located& where) {
    if (where.life != 0) {
      // Counted only under the life word the pass started from (Unstable checks it
      // did not change); a gauge only while its owner lives.
      if (m.index >= before.size() || before[m.index] != where.life ||
          (m.type == MetricType::kGauge && !live.Alive(where.process_pid, where.process_start)))
        return;
      ReadValues(s, where, &m, /*take=*/false);
      uint64_t stamp = 0;
      if ((where.gauge_combine & layout::kGaugeCombineMask) == layout::kGaugeMostRecent)
        stamp = s.slots()[where.slot_offset + 1].load(std::memory_order_relaxed);
      if (StillPresent(s, m, where)) process_series.push_back({where.hash, std::move(m), stamp});
      return;
    }
    ReadValues(s, where, &m, /*take=*/false);
    if (!StillPresent(s, m, where)) return;
    const size_t at = snap.metrics.size();
    auto [same_key, new_series] = series.Emplace(where.hash, at);
    const MetricSnapshot* other = new_series ? nullptr : &snap.metrics[same_key];
    if (other && other->name == m.name && other->labels == m.labels) {
      snap.problems.push_back(
          fmt::format("descriptor {}: {} is a duplicate series", m.index, m.name));
      return;
    }
    auto [family, new_family] = families.Emplace(std::hash<std::string>{}(m.name), at);
    other = new_family ? nullptr : &snap.metrics[family];
    if (other && other->name == m.name && other->type != m.type) {
      snap.problems.push_back(fmt::format("descriptor {}: family {} has {} and {} series", m.index,
                                          m.name, TypeName(other->type), TypeName(m.type)));
      return;
    }
    exemplars::Read(s, where.exemplars, &m);
    snap.metrics.push_back(std::move(m));
    combining.push_back({where.gauge_combine, 0});
  });
  Aggregate(snap.metrics, series, process_series, combining, &snap.problems);
  return snap;
}

// Read passes a fold may disturb before a pass is taken as it is: the first few
// yield, the others sleep 1 ms, enough for a folder preempted mid-fold to finish.
constexpr int kReadAttempts = 64;
constexpr int kYieldingAttempts = 4;

}  // namespace

Snapshot Segment::Read() const {
  detail::CheckMappedSize(*impl_);
  process::Liveness live(impl_->fd());  // one owner check per pid for the whole read
  for (int attempt = 1;; ++attempt) {
    const std::vector<uint64_t> before = LifeWords(*impl_);
    Snapshot snap = ReadPass(*impl_, before, live);
    // Acquire: a fold's value writes (release) seen in the pass make its life-word
    // change visible to Unstable.
    std::atomic_thread_fence(std::memory_order_acquire);
    const uint32_t unstable = Unstable(*impl_, before);
    if (unstable == kStable) return snap;
    if (attempt == kReadAttempts) {
      snap.problems.push_back(fmt::format(
          "descriptor {}: a process-scoped series was being retired during each of {} read "
          "passes (or its life word is corrupt): its series' total may be off by its values",
          unstable, kReadAttempts));
      return snap;
    }
    if (attempt < kYieldingAttempts) {
      sched_yield();
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

std::vector<MetricSnapshot> Segment::Reset(
    const std::function<bool(const MetricSnapshot&)>& select) {
  impl_->RequireWritable("reset metrics");
  detail::CheckMappedSize(*impl_);
  // A reset exchanges slots located from its copy: no deleted series' room may go to
  // another key until it is done (reuse.h).
  const reuse::ResetAnnouncement announced(*impl_);
  std::vector<MetricSnapshot> taken;
  HashToIndex series(impl_->series_used());  // key hash -> index in taken (shared series)
  std::vector<ProcessValue> process_series;
  ForEachPublished(*impl_, nullptr, [&](MetricSnapshot& m, const Located& where) {
    if (!select(m)) return;
    ReadValues(*impl_, where, &m, /*take=*/true);
    if (where.life != 0) {
      process_series.push_back({where.hash, std::move(m), 0});
      return;
    }
    series.Emplace(where.hash, taken.size());
    taken.push_back(std::move(m));
  });
  std::vector<std::string> unmatched;  // a process series whose aggregate was not selected
  std::vector<Combining> sum_all;      // what was taken, summed
  Aggregate(taken, series, process_series, sum_all, &unmatched);
  return taken;
}

std::vector<MetricSnapshot> Segment::Delete(
    const std::function<bool(const MetricSnapshot&)>& select) {
  impl_->RequireWritable("delete metrics");
  detail::CheckMappedSize(*impl_);
  const detail::SegmentImpl& s = *impl_;
  const auto self = static_cast<uint32_t>(getpid());
  std::vector<MetricSnapshot> deleted;
  ForEachPublished(s, nullptr, [&](MetricSnapshot& m, const Located& where) {
    if (where.life != 0) return;               // process series go with their aggregate
    ReadValues(s, where, &m, /*take=*/false);  // select may look at the values too
    if (!select(m)) return;
    Descriptor& d = s.descriptor(m.index);
    // Its family read before the CAS: once stamped, its room may go to another key
    // (reuse.h), which rewrites the descriptor. The CAS succeeding says that it was
    // not given away since `where` was read, so the family is this key's.
    const uint32_t family_slot = d.family_slot;
    uint64_t gone = where.gone;
    if (!d.gone.compare_exchange_strong(
            gone, layout::Gone(layout::GoneGeneration(gone), self, layout::kDeleted),
            std::memory_order_seq_cst, std::memory_order_relaxed))
      return;  // deleted or revived meanwhile
    const bool overflow = m.labels.size() == 1 && m.labels[0].first == kOverflowLabel;
    families::GiveBack(s, overflow, family_slot - 1);
    // Counted, which tells handle caches to drop theirs (the statsd door), then
    // stamped with its time, last, for reuse of its room by another key (reuse.h):
    // in this order, so that a stamped deletion is one such caches can see. The
    // values returned are those read before the CAS.
    s.header().deleted.fetch_add(1, std::memory_order_seq_cst);
    reuse::StampDeleted(d, layout::GoneGeneration(gone));
    deleted.push_back(std::move(m));
  });
  return deleted;
}

uint64_t Segment::Deletions() const noexcept {
  return impl_->header().deleted.load(std::memory_order_acquire);
}

}  // namespace shmstats
