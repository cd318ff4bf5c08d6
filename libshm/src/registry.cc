// Registration, the cold path: lock-free find-or-create of a descriptor by
// (name, labels) in an open-addressing table, and the handles built from it.
//
// Protocol (docs/segment-format.md, "Publication"): CAS a free descriptor to
// kClaimed|hash, fill it, allocate its slots, then CAS kClaimed|hash -> kPublished|hash
// with release. A registrant that meets a claim with its own hash waits for it; if
// the claimer died (or stalls past kClaimTimeout) it CASes the claim to kAbandoned and
// probes on. A claimer whose claim was abandoned under it starts again. No process
// ever waits on a lock another process can hold forever.

#include <fmt/format.h>
#include <signal.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <bit>
#include <chrono>
#include <cstring>
#include <thread>

#include "buckets.h"
#include "names.h"
#include "ownership.h"
#include "segment_impl.h"
#include "shmstats/error.h"

namespace shmstats {
namespace {

using layout::Descriptor;
constexpr auto kClaimTimeout = std::chrono::milliseconds(500);
constexpr int kMaxAttempts = 64;

struct Request {
  MetricType type;
  const MetricSpec& spec;
  std::string labels;  // encoded
  buckets::Layout buckets;
  uint64_t hash;
  uint32_t slots;   // slots this metric needs
  uint8_t stripes;  // 0: not striped
};

std::string_view Field(const char* data, uint16_t len, size_t cap) {
  return {data, std::min<size_t>(len, cap)};
}

bool SameKey(const Descriptor& d, const Request& r) {
  return d.name_len == r.spec.name.size() && d.labels_len == r.labels.size() &&
         Field(d.name, d.name_len, sizeof d.name) == r.spec.name &&
         Field(d.labels, d.labels_len, sizeof d.labels) == r.labels;
}

std::string SeriesName(const Request& r) {
  std::string out = r.spec.name;
  Labels decoded;
  std::string why;
  names::DecodeLabels(r.labels, &decoded, &why);
  for (size_t i = 0; i < decoded.size(); ++i)
    out += fmt::format("{}{}=\"{}\"", i ? "," : "{", decoded[i].first, decoded[i].second);
  return decoded.empty() ? out : out + "}";
}

// The slots of a published descriptor, checked against the segment's geometry and
// its own layout (striping included).
layout::Slot* CheckedSlots(const detail::SegmentImpl& s, const Descriptor& d) {
  const uint32_t buckets =
      d.type == static_cast<uint8_t>(MetricType::kHistogram) ? d.bucket_count : 0;
  const bool stripes_ok =
      layout::ValidStripes(d.stripes) &&
      (!layout::Striped(d.stripes) || d.type != static_cast<uint8_t>(MetricType::kGauge));
  const uint32_t needed = stripes_ok ? layout::MetricSlots(buckets, d.stripes) : UINT32_MAX;
  if (d.slot_offset % layout::kCacheLineSlots != 0 || d.slot_count < needed ||
      uint64_t{d.slot_offset} + d.slot_count > s.max_slots)
    throw Error(Errc::kCorrupt,
                fmt::format("segment {} is corrupt: descriptor '{}' has slots {}+{} of {}", s.path,
                            Field(d.name, d.name_len, sizeof d.name), d.slot_offset, d.slot_count,
                            s.max_slots));
  return s.slots() + d.slot_offset;
}

void CheckCompatible(const detail::SegmentImpl& s, const Descriptor& d, const Request& r) {
  if (d.type != static_cast<uint8_t>(r.type))
    throw Error(Errc::kTypeMismatch,
                fmt::format("{} is already registered as a {}, not a {}", SeriesName(r),
                            TypeName(static_cast<MetricType>(d.type)), TypeName(r.type)));
  if (r.type != MetricType::kHistogram) return;
  const buckets::Layout& want = r.buckets;
  bool same = d.bucket_kind == want.kind && d.bucket_count == want.bounds.size() + 1 &&
              (want.kind != layout::kExponential ||
               (d.precision_bits == want.precision_bits && d.min_key == want.min_key));
  if (same) {
    const layout::Slot* bounds =
        CheckedSlots(s, d) + layout::BoundsOffset(d.bucket_count, d.stripes);
    for (size_t i = 0; same && i < want.bounds.size(); ++i)
      same = bounds[i].load(std::memory_order_relaxed) == std::bit_cast<uint64_t>(want.bounds[i]);
  }
  if (!same)
    throw Error(Errc::kTypeMismatch,
                fmt::format("{} is already registered with other buckets; asked for {}",
                            SeriesName(r), buckets::Describe(want)));
}

// Best effort across the directory: one family (name) has one type.
void CheckFamilyType(const detail::SegmentImpl& s, const Request& r) {
  for (uint32_t i = 0; i < s.max_metrics; ++i) {
    const Descriptor& d = s.descriptor(i);
    if ((d.state.load(std::memory_order_acquire) & layout::kStateMask) != layout::kPublished)
      continue;
    // Type and length first: both are in the descriptor's first cache line.
    if (d.type != static_cast<uint8_t>(r.type) && d.name_len == r.spec.name.size() &&
        Field(d.name, d.name_len, sizeof d.name) == r.spec.name)
      throw Error(
          Errc::kTypeMismatch,
          fmt::format("metric family {} already has {} series; {} cannot be a {}", r.spec.name,
                      TypeName(static_cast<MetricType>(d.type)), SeriesName(r), TypeName(r.type)));
  }
}

[[noreturn]] void Refuse(const detail::SegmentImpl& s, const std::string& why) {
  s.header().refused.fetch_add(1, std::memory_order_relaxed);
  throw Error(Errc::kFull, fmt::format("segment {} is full: {}; existing metrics keep working. "
                                       "Create a larger segment (statsctl create --max-metrics, "
                                       "--max-slots)",
                                       s.path, why));
}

// Waits until a claim with our hash is published or abandoned; abandons it if its
// owner is dead or it outlives kClaimTimeout. Returns the state now in the word.
uint64_t AwaitClaim(const detail::SegmentImpl& s, Descriptor& d, uint64_t claimed) {
  auto start = std::chrono::steady_clock::now();
  for (int spin = 0;; ++spin) {
    uint64_t state = d.state.load(std::memory_order_acquire);
    if (state != claimed) return state;
    if (spin < 64) continue;
    if (detail::OwnerDead(d.owner_pid.load(std::memory_order_relaxed)) ||
        std::chrono::steady_clock::now() - start > kClaimTimeout) {
      uint64_t abandoned = layout::kAbandoned | (claimed & layout::kHashMask);
      if (d.state.compare_exchange_strong(state, abandoned, std::memory_order_acq_rel)) {
        s.header().abandoned.fetch_add(1, std::memory_order_relaxed);
        return abandoned;
      }
      return state;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// Where `count` slots would start on a fresh cache line after cursor `used`, or
// false if they do not fit. The cursor is untrusted: no arithmetic may wrap.
bool SlotsFit(uint64_t used, uint32_t count, uint32_t max_slots, uint64_t* start) {
  if (used > max_slots) return false;
  *start = (used + layout::kCacheLineSlots - 1) / layout::kCacheLineSlots * layout::kCacheLineSlots;
  return *start + count <= max_slots;
}

std::string NoRoomForSlots(const detail::SegmentImpl& s, const std::string& series,
                           uint32_t count) {
  uint64_t used =
      std::min<uint64_t>(s.header().slots_used.load(std::memory_order_relaxed), s.max_slots);
  return fmt::format("{} needs {} value slots on a fresh cache line but {} of {} are used", series,
                     count, used, s.max_slots);
}

// Allocates `count` slots on a fresh cache line; returns false when they do not fit.
bool AllocateSlots(const detail::SegmentImpl& s, uint32_t count, uint32_t* offset) {
  auto& cursor = s.header().slots_used;
  uint64_t used = cursor.load(std::memory_order_relaxed);
  uint64_t start = 0;
  while (SlotsFit(used, count, s.max_slots, &start)) {
    // Relaxed is enough: slots start zeroed, and their contents are published by
    // the descriptor's release store, not by this cursor.
    if (cursor.compare_exchange_weak(used, start + count, std::memory_order_relaxed)) {
      *offset = static_cast<uint32_t>(start);
      return true;
    }
  }
  return false;
}

// Fills a descriptor we claimed and publishes it. Returns false if our claim was
// abandoned meanwhile (we stalled): the caller starts over.
bool FillAndPublish(const detail::SegmentImpl& s, Descriptor& d, const Request& r) {
  const uint64_t claimed = layout::kClaimed | r.hash;
  d.type = static_cast<uint8_t>(r.type);
  d.bucket_kind = r.buckets.kind;
  d.precision_bits = r.buckets.precision_bits;
  d.stripes = r.stripes;
  d.min_key = r.buckets.min_key;
  d.bucket_count = r.type == MetricType::kHistogram ? r.buckets.bounds.size() + 1 : 0;
  d.name_len = r.spec.name.size();
  d.labels_len = r.labels.size();
  d.help_len = r.spec.help.size();
  d.unit_len = r.spec.unit.size();
  std::memcpy(d.name, r.spec.name.data(), r.spec.name.size());
  std::memcpy(d.labels, r.labels.data(), r.labels.size());
  std::memcpy(d.help, r.spec.help.data(), r.spec.help.size());
  std::memcpy(d.unit, r.spec.unit.data(), r.spec.unit.size());
  uint32_t offset = 0;
  if (!AllocateSlots(s, r.slots, &offset)) {
    // Lost a race for the last slots: the claim becomes a tombstone.
    uint64_t expected = claimed;
    d.state.compare_exchange_strong(expected, layout::kAbandoned | r.hash);
    Refuse(s, NoRoomForSlots(s, SeriesName(r), r.slots));
  }
  layout::Slot* slots = s.slots() + offset;
  for (size_t i = 0; i < r.buckets.bounds.size(); ++i)
    slots[layout::BoundsOffset(d.bucket_count, r.stripes) + i].store(
        std::bit_cast<uint64_t>(r.buckets.bounds[i]), std::memory_order_relaxed);
  d.slot_offset = offset;
  d.slot_count = r.slots;
  uint64_t expected = claimed;
  // Release: every field and bound written above is visible to whoever acquires
  // kPublished.
  return d.state.compare_exchange_strong(expected, layout::kPublished | r.hash,
                                         std::memory_order_release, std::memory_order_relaxed);
}

// Find-or-create; returns the published descriptor for r, compatible with it.
const Descriptor& FindOrCreate(const detail::SegmentImpl& s, const Request& r) {
  const auto self = static_cast<uint32_t>(getpid());  // a system call: not inside the claim
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const uint32_t home = r.hash % s.max_metrics;
    bool restart = false;
    for (uint32_t k = 0; k < s.max_metrics && !restart; ++k) {
      Descriptor& d = s.descriptor((home + k) % s.max_metrics);
      uint64_t state = d.state.load(std::memory_order_acquire);
      for (;;) {
        if (state == layout::kFree) {
          CheckFamilyType(s, r);
          uint64_t start = 0;
          if (!SlotsFit(s.header().slots_used.load(std::memory_order_relaxed), r.slots, s.max_slots,
                        &start))
            Refuse(s, NoRoomForSlots(s, SeriesName(r), r.slots));
          if (d.state.compare_exchange_strong(state, layout::kClaimed | r.hash,
                                              std::memory_order_acq_rel,
                                              std::memory_order_acquire)) {
            // First thing after the claim, so others can tell if we die now.
            d.owner_pid.store(self, std::memory_order_relaxed);
            if (FillAndPublish(s, d, r)) return d;
            restart = true;
            break;
          }
          continue;  // someone else claimed it first: look at what they claimed
        }
        if (state == (layout::kClaimed | r.hash)) {
          state = AwaitClaim(s, d, state);
          continue;
        }
        if (state == (layout::kPublished | r.hash) && SameKey(d, r)) {
          CheckCompatible(s, d, r);
          return d;
        }
        break;  // another key, or a tombstone: probe on
      }
    }
    if (!restart)
      Refuse(s, fmt::format("all {} metric descriptors are used; {} cannot be added", s.max_metrics,
                            SeriesName(r)));
  }
  throw Error(Errc::kSystem,
              fmt::format("registering {} in {} kept losing its claim", SeriesName(r), s.path));
}

// Stripes of a striped metric: this machine's CPUs, rounded up to a power of two.
uint8_t StripeCount() {
  auto cpus = static_cast<uint32_t>(std::max(get_nprocs_conf(), 1));
  return static_cast<uint8_t>(std::min(std::bit_ceil(cpus), layout::kMaxStripes));
}

Request MakeRequest(MetricType type, const MetricSpec& spec, const Buckets* b,
                    Striping striping = Striping::kShared) {
  bool histogram = type == MetricType::kHistogram;
  Request r{type, spec, names::CheckSpecAndEncodeLabels(spec, histogram), {}, 0, 1, 0};
  if (striping == Striping::kPerCpu) r.stripes = StripeCount();
  if (histogram) r.buckets = buckets::Make(*b);
  r.slots = layout::MetricSlots(histogram ? static_cast<uint32_t>(r.buckets.bounds.size() + 1) : 0,
                                r.stripes);
  r.hash = names::KeyHash(spec.name, r.labels);
  return r;
}

}  // namespace

Counter Segment::RegisterCounter(const MetricSpec& spec, Striping striping) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kCounter, spec, nullptr, striping);
  const Descriptor& d = FindOrCreate(*impl_, r);
  Counter c;
  c.slot_ = CheckedSlots(*impl_, d);
  if (layout::Striped(d.stripes)) c.stripe_mask_ = d.stripes - 1u;
  return c;
}

Gauge Segment::RegisterGauge(const MetricSpec& spec) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kGauge, spec, nullptr);
  return Gauge(CheckedSlots(*impl_, FindOrCreate(*impl_, r)));
}

Histogram Segment::RegisterHistogram(const MetricSpec& spec, const Buckets& buckets,
                                     Striping striping) {
  impl_->RequireWritable("register metrics");
  Request r = MakeRequest(MetricType::kHistogram, spec, &buckets, striping);
  const Descriptor& d = FindOrCreate(*impl_, r);
  layout::Slot* slots = CheckedSlots(*impl_, d);
  Histogram h;
  h.slots_ = slots;
  if (layout::Striped(d.stripes)) {
    h.stripe_mask_ = static_cast<uint8_t>(d.stripes - 1);
    h.stripe_stride_ = static_cast<uint16_t>(layout::StripeStride(d.bucket_count));
  }
  if (d.bucket_kind == layout::kExponential) {
    h.shift_ = 52 - d.precision_bits;
    h.min_key_ = d.min_key;
    h.last_ = d.bucket_count - 1;
  } else if (const buckets::Table* t = impl_->bucket_tables.Get(
                 static_cast<uint32_t>(&d - &impl_->descriptor(0)), r.buckets.bounds)) {
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

}  // namespace shmstats
