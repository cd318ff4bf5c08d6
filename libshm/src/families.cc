// SPDX-License-Identifier: Apache-2.0
// Family limits: one CAS loop on the family's series count per new series. A
// registrant killed between its count and its link leaves the family counted one
// series too many (it is capped one series early), never over its limit.

#include "families.h"

#include <algorithm>
#include <map>

#include "shmstats/segment.h"

namespace shmstats::families {

layout::FamilyRecord* Record(const detail::SegmentImpl& s, uint32_t slot) {
  return s.family_table_offset != 0 && slot < s.index_entries ? &s.family_record(slot) : nullptr;
}

bool Take(const detail::SegmentImpl& s, uint32_t slot, uint32_t limit, bool overflow) {
  layout::FamilyRecord* f = Record(s, slot);
  if (!f || overflow) return true;
  if (limit != 0) {
    uint32_t none = 0;
    f->limit.compare_exchange_strong(none, limit, std::memory_order_relaxed);
  }
  limit = f->limit.load(std::memory_order_relaxed);
  if (limit == 0) limit = s.header().family_limit;
  uint32_t n = f->series.load(std::memory_order_relaxed);
  do {
    if (limit != 0 && n >= limit) return false;
  } while (!f->series.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

void GiveBack(const detail::SegmentImpl& s, bool overflow, uint32_t slot) {
  layout::FamilyRecord* f = Record(s, slot);
  if (!f || overflow) return;
  uint32_t n = f->series.load(std::memory_order_relaxed);
  while (n > 0 && !f->series.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
  }
}

}  // namespace shmstats::families

namespace shmstats {

std::vector<FamilyInfo> Segment::Families() const {
  const Snapshot snap = Read();
  const detail::SegmentImpl& s = *impl_;
  std::map<std::string, FamilyInfo> by_name;
  for (const MetricSnapshot& m : snap.metrics) {
    FamilyInfo& f = by_name[m.name];
    if (f.series++ == 0) {
      f.name = m.name;
      f.type = m.type;
      f.limit = s.family_table_offset != 0 ? s.header().family_limit : 0;
    }
    bool overflow = m.labels.size() == 1 && m.labels[0].first == kOverflowLabel;
    f.overflow_series += overflow;
    if (m.index >= s.series_used()) continue;
    const layout::FamilyRecord* r = families::Record(s, s.descriptor(m.index).family_slot - 1);
    if (!r) continue;
    if (uint32_t own = r->limit.load(std::memory_order_relaxed)) f.limit = own;
    f.overflowed = r->overflowed.load(std::memory_order_relaxed);
  }
  std::vector<FamilyInfo> out;
  for (auto& [name, f] : by_name) out.push_back(std::move(f));
  std::stable_sort(out.begin(), out.end(),
                   [](const FamilyInfo& a, const FamilyInfo& b) { return a.series > b.series; });
  return out;
}

}  // namespace shmstats
