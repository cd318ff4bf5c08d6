// Reading and resetting: every published descriptor is copied out of the segment
// and validated before any of its offsets or lengths is used. The segment is
// untrusted input; a bad descriptor becomes a problem string, never a crash.

#include <fmt/format.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "buckets.h"
#include "names.h"
#include "ownership.h"
#include "segment_impl.h"
#include "shmstats/error.h"

namespace shmstats {
namespace {

using layout::Descriptor;

// Where a validated descriptor's values are, and its key hash.
struct Located {
  uint32_t slot_offset = 0;
  uint64_t hash = 0;
  uint32_t stripes = 1;  // stripes to sum (1: not striped)
  uint32_t stride = 0;   // slots from one stripe to the next
};

// Metadata of a published descriptor, checked; the slot range is checked too.
// Returns false for a descriptor that is not published (nothing to report), or that
// is invalid (then *problem says why).
bool ReadMeta(const detail::SegmentImpl& s, uint32_t index, MetricSnapshot* m, Located* where,
              std::string* problem) {
  const Descriptor& shared = s.descriptor(index);
  uint64_t state = shared.state.load(std::memory_order_acquire);
  if ((state & layout::kStateMask) != layout::kPublished) return false;
  // Published descriptors are immutable: copy once, then check only the copy.
  Descriptor d;
  std::memcpy(static_cast<void*>(&d), static_cast<const void*>(&shared), sizeof d);
  auto bad = [&](const std::string& why) {
    *problem = fmt::format("descriptor {}: {}", index, why);
    return false;
  };
  if (d.type < 1 || d.type > 3) return bad(fmt::format("unknown metric type {}", d.type));
  if (d.name_len > sizeof d.name || d.labels_len > sizeof d.labels || d.help_len > sizeof d.help ||
      d.unit_len > sizeof d.unit)
    return bad(fmt::format("field lengths {}/{}/{}/{} exceed their fields", d.name_len,
                           d.labels_len, d.help_len, d.unit_len));
  m->name.assign(d.name, d.name_len);
  if (!names::IsValidMetricName(m->name)) return bad("invalid metric name");
  std::string_view labels(d.labels, d.labels_len);
  std::string why;
  if (!names::DecodeLabels(labels, &m->labels, &why)) return bad(m->name + ": " + why);
  if (names::KeyHash(m->name, labels) != (state & layout::kHashMask))
    return bad(m->name + ": key hash does not match its name and labels");
  m->help.assign(d.help, d.help_len);
  m->unit.assign(d.unit, d.unit_len);
  if (!names::IsValidUtf8(m->help) || !names::IsValidUtf8(m->unit))
    return bad(m->name + ": help or unit is not UTF-8");
  m->type = static_cast<MetricType>(d.type);
  m->index = index;

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
  const uint32_t needed = layout::MetricSlots(buckets, d.stripes);
  if (d.slot_offset % layout::kCacheLineSlots != 0 || d.slot_count < needed ||
      uint64_t{d.slot_offset} + d.slot_count > s.max_slots)
    return bad(fmt::format("{}: slots {}+{} are outside the {} slots (or too few)", m->name,
                           d.slot_offset, d.slot_count, s.max_slots));
  *where = {d.slot_offset, state & layout::kHashMask, layout::Striped(d.stripes) ? d.stripes : 1u,
            layout::StripeStride(buckets)};
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
    if (!buckets::ExponentialBounds(d.precision_bits, d.min_key, d.bucket_count, &expected) ||
        expected != h.bounds)
      return bad(m->name + ": exponential bucket parameters do not match its bounds");
    h.precision_bits = d.precision_bits;
  } else if (d.bucket_kind != layout::kExplicit) {
    return bad(fmt::format("{}: unknown bucket kind {}", m->name, d.bucket_kind));
  }
  return true;
}

double AsDouble(uint64_t bits) { return std::bit_cast<double>(bits); }

// Reads (or, with exchange, takes and zeroes) the values of a validated metric,
// summing its stripes.
void ReadValues(const detail::SegmentImpl& s, const Located& where, MetricSnapshot* m,
                bool exchange) {
  auto take = [exchange](layout::Slot& slot) {
    return exchange ? slot.exchange(0, std::memory_order_relaxed)
                    : slot.load(std::memory_order_relaxed);
  };
  if (m->type == MetricType::kHistogram) {
    m->histogram.sum = 0;
    m->histogram.counts.assign(m->histogram.bounds.size() + 1, 0);
  }
  for (uint32_t stripe = 0; stripe < where.stripes; ++stripe) {
    layout::Slot* slots = s.slots() + where.slot_offset + size_t{stripe} * where.stride;
    switch (m->type) {
      case MetricType::kCounter:
        m->counter += take(slots[0]);
        break;
      case MetricType::kGauge:
        m->gauge = AsDouble(take(slots[0]));
        break;
      case MetricType::kHistogram: {
        HistogramValue& h = m->histogram;
        h.sum += AsDouble(take(slots[0]));
        for (size_t i = 0; i < h.counts.size(); ++i) h.counts[i] += take(slots[1 + i]);
        break;
      }
    }
  }
  if (m->type == MetricType::kHistogram) {
    HistogramValue& h = m->histogram;
    h.count = 0;
    for (uint64_t c : h.counts) h.count += c;
  }
}

template <class Visit>
void ForEachPublished(const detail::SegmentImpl& s, std::vector<std::string>* problems,
                      Visit visit) {
  for (uint32_t i = 0; i < s.max_metrics; ++i) {
    MetricSnapshot m;
    Located where;
    std::string problem;
    if (ReadMeta(s, i, &m, &where, &problem))
      visit(m, where);
    else if (!problem.empty() && problems)
      problems->push_back(std::move(problem));
  }
}

}  // namespace

Snapshot Segment::Read() const {
  detail::CheckMappedSize(*impl_);
  Snapshot snap;
  snap.taken_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  snap.instance_id = impl_->header().instance_id;
  // Corruption or a registration race can leave a series twice, or one family with
  // two types; exporters need neither, so such series are left out and reported.
  // Keyed by hashes (checked against the names on a hit) to spare an allocation per
  // metric: this loop is most of `statsctl list` on a large segment.
  std::unordered_map<uint64_t, size_t> series;  // key hash -> index in snap.metrics
  std::unordered_map<size_t, size_t> families;  // hash of name -> index in snap.metrics
  // Room for every descriptor up front: growing moved every metric read so far
  // (memory that is reserved but never written costs no page).
  snap.metrics.reserve(impl_->max_metrics);
  series.reserve(impl_->max_metrics);
  ForEachPublished(*impl_, &snap.problems, [&](MetricSnapshot& m, const Located& where) {
    const size_t at = snap.metrics.size();
    auto [same_key, new_series] = series.emplace(where.hash, at);
    const MetricSnapshot* other = new_series ? nullptr : &snap.metrics[same_key->second];
    if (other && other->name == m.name && other->labels == m.labels) {
      snap.problems.push_back(
          fmt::format("descriptor {}: {} is a duplicate series", m.index, m.name));
      return;
    }
    auto [family, new_family] = families.emplace(std::hash<std::string>{}(m.name), at);
    other = new_family ? nullptr : &snap.metrics[family->second];
    if (other && other->name == m.name && other->type != m.type) {
      snap.problems.push_back(fmt::format("descriptor {}: family {} has {} and {} series", m.index,
                                          m.name, TypeName(other->type), TypeName(m.type)));
      return;
    }
    ReadValues(*impl_, where, &m, /*exchange=*/false);
    snap.metrics.push_back(std::move(m));
  });
  return snap;
}

std::vector<MetricSnapshot> Segment::Reset(
    const std::function<bool(const MetricSnapshot&)>& select) {
  impl_->RequireWritable("reset metrics");
  detail::CheckMappedSize(*impl_);
  std::vector<MetricSnapshot> taken;
  ForEachPublished(*impl_, nullptr, [&](MetricSnapshot& m, const Located& where) {
    if (!select(m)) return;
    ReadValues(*impl_, where, &m, /*exchange=*/true);
    taken.push_back(std::move(m));
  });
  return taken;
}

}  // namespace shmstats
