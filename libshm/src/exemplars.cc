// SPDX-License-Identifier: Apache-2.0
// Exemplars: one record per counter, one per histogram bucket, allocated from the
// exemplar region on a series' first exemplar and written under a per-record
// seqlock (layout::ExemplarRecord), so that concurrent writers and readers in any
// process never see a torn exemplar and a writer killed midway wedges nothing.
// Storing an exemplar is not the recording hot path: it validates, looks the series
// up once per handle and takes the clock; the Inc/Observe beside it stays inline.

#include "exemplars.h"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>

#include "names.h"
#include "ownership.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats {
namespace {

using layout::Descriptor;
using layout::ExemplarRecord;

constexpr size_t kLabelBytes = size_t{layout::kExemplarLabelWords} * 8;

bool IsLabelName(std::string_view n) {
  if (n.empty() || n.starts_with("__")) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// UTF-8 characters (code points) of a valid UTF-8 string.
size_t Runes(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xc0) != 0x80;
  return n;
}

// The labels as stored (name NUL value NUL ..., in the order given), or "" with
// *why set when they break OpenMetrics' rules.
bool Encode(const Labels& labels, std::string* out, std::string* why) {
  size_t runes = 0;
  for (const auto& [k, v] : labels) {
    if (!IsLabelName(k)) {
      *why = fmt::format("exemplar label name '{}' is not a label name", k);
      return false;
    }
    if (!names::IsValidUtf8(v) || v.find('\0') != std::string::npos) {
      *why = fmt::format("exemplar label {} is not UTF-8 without NUL", k);
      return false;
    }
    runes += Runes(k) + Runes(v);
    out->append(k).push_back('\0');
    out->append(v).push_back('\0');
  }
  if (runes > layout::kMaxExemplarRunes || out->size() > kLabelBytes) {
    *why = fmt::format("exemplar labels have {} UTF-8 characters, exceeding the limit of {}", runes,
                       layout::kMaxExemplarRunes);
    return false;
  }
  return true;
}

double NowUnixSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The published shared counter or histogram whose first slot is `offset`.
bool IsSeriesAt(const detail::SegmentImpl& s, uint32_t i, uint32_t offset) {
  const Descriptor& d = s.descriptor(i);
  return (d.state.load(std::memory_order_acquire) & layout::kStateMask) == layout::kPublished &&
         d.scope == layout::kScopeShared && d.slot_offset == offset &&
         (d.type == static_cast<uint8_t>(MetricType::kCounter) ||
          d.type == static_cast<uint8_t>(MetricType::kHistogram));
}

// The descriptor of a handle's series, by its first slot: cached per process.
Descriptor& SeriesOf(detail::SegmentImpl& s, const layout::Slot* first) {
  const layout::Slot* slots = s.slots();
  if (first < slots || first >= slots + s.max_slots)
    throw Error(Errc::kInvalidArgument,
                fmt::format("the handle was not registered from segment {}", s.path));
  const auto offset = static_cast<uint32_t>(first - slots);
  std::lock_guard lock(s.exemplar_mutex);
  auto it = s.exemplar_series.find(offset);
  if (it != s.exemplar_series.end() && it->second < s.series_used() &&
      IsSeriesAt(s, it->second, offset))
    return s.descriptor(it->second);
  for (uint32_t i = 0, n = s.series_used(); i < n; ++i) {
    if (IsSeriesAt(s, i, offset)) {
      s.exemplar_series[offset] = i;
      return s.descriptor(i);
    }
  }
  throw Error(Errc::kInvalidArgument,
              fmt::format("no shared counter or histogram of segment {} has this handle's slots "
                          "(exemplars are kept for shared series only)",
                          s.path));
}

// The first record of d's exemplars, allocated on its first exemplar; false when
// the region has no room (counted in the header).
bool Records(detail::SegmentImpl& s, Descriptor& d, uint32_t n, uint64_t* first) {
  uint64_t word = d.exemplars.load(std::memory_order_acquire);
  static_assert(layout::kMaxExemplarRecordsLimit < ~uint32_t{0});
  if (word == 0) {
    layout::Header& h = s.header();
    uint64_t used = h.exemplars_used.load(std::memory_order_relaxed);
    for (;;) {
      if (used > s.exemplar_records || n > s.exemplar_records - used) {
        h.exemplars_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      // Pages below the cursor are reserved: a reader below it never faults a hole.
      if (!s.Reserve(s.exemplar_offset + used * layout::kExemplarRecordSize,
                     uint64_t{n} * layout::kExemplarRecordSize)) {
        h.exemplars_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      if (h.exemplars_used.compare_exchange_weak(used, used + n, std::memory_order_release,
                                                 std::memory_order_relaxed))
        break;
    }
    // A registrant racing us for the same series may win: its records are used and
    // ours stay unused (the race is rare; the region is sized with room for it).
    uint32_t expected = 0;
    const auto mine = static_cast<uint32_t>(used + 1);
    word = d.exemplars.compare_exchange_strong(expected, mine, std::memory_order_acq_rel)
               ? mine
               : expected;
  }
  if (word - 1 >= s.exemplar_records || n > s.exemplar_records - (word - 1))
    throw Error(Errc::kCorrupt,
                fmt::format("segment {} is corrupt: exemplar records {}+{} are outside its {}",
                            s.path, word - 1, n, s.exemplar_records));
  *first = word - 1;
  return true;
}

// Takes the record's writer word: free, or held by a process that is gone.
bool Lock(ExemplarRecord& r, uint64_t self) {
  uint64_t holder = 0;
  if (r.writer.compare_exchange_strong(holder, self, std::memory_order_acquire)) return true;
  if (holder == self || !detail::OwnerDead(static_cast<uint32_t>(holder))) return false;
  return r.writer.compare_exchange_strong(holder, self, std::memory_order_acquire);
}

void Write(ExemplarRecord& r, double value, double timestamp, const std::string& labels) {
  // seq odd while writing; a dead writer's record is odd already and stays so.
  uint64_t seq = r.seq.load(std::memory_order_relaxed);
  if (seq % 2 == 0) r.seq.store(++seq, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  r.value.store(std::bit_cast<uint64_t>(value), std::memory_order_relaxed);
  r.timestamp.store(std::bit_cast<uint64_t>(timestamp), std::memory_order_relaxed);
  r.label_bytes.store(labels.size(), std::memory_order_relaxed);
  for (size_t w = 0; w * 8 < labels.size(); ++w) {
    uint64_t word = 0;
    std::memcpy(&word, labels.data() + w * 8, std::min<size_t>(8, labels.size() - w * 8));
    r.labels[w].store(word, std::memory_order_relaxed);
  }
  r.seq.store(seq + 1, std::memory_order_release);
}

ExemplarResult Store(detail::SegmentImpl& s, const layout::Slot* first_slot, bool histogram,
                     size_t bucket, double value, const Labels& labels) {
  std::string encoded, why;
  if (!Encode(labels, &encoded, &why)) throw Error(Errc::kInvalidArgument, why);
  Descriptor& d = SeriesOf(s, first_slot);
  if ((d.type == static_cast<uint8_t>(MetricType::kHistogram)) != histogram)
    throw Error(Errc::kInvalidArgument, "the handle's series is not of the handle's type");
  const uint32_t n = histogram ? d.bucket_count : 1;
  if (bucket >= n) throw Error(Errc::kCorrupt, "the handle's bucket is outside its series");
  uint64_t first = 0;
  if (s.exemplar_offset == 0 || !Records(s, d, n, &first)) return ExemplarResult::kNoRoom;
  ExemplarRecord& r = s.exemplar(first + bucket);
  if (!Lock(r, static_cast<uint64_t>(getpid()))) return ExemplarResult::kSuperseded;
  Write(r, value, NowUnixSeconds(), encoded);
  r.writer.store(0, std::memory_order_release);
  return ExemplarResult::kStored;
}

// One record's exemplar, if it holds a valid one.
std::optional<Exemplar> ReadRecord(const ExemplarRecord& r) {
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const uint64_t seq = r.seq.load(std::memory_order_acquire);
    if (seq == 0) return std::nullopt;
    if (seq % 2 != 0) {
      sched_yield();
      continue;
    }
    Exemplar e;
    e.value = std::bit_cast<double>(r.value.load(std::memory_order_relaxed));
    e.timestamp = std::bit_cast<double>(r.timestamp.load(std::memory_order_relaxed));
    const uint64_t bytes = r.label_bytes.load(std::memory_order_relaxed);
    char text[kLabelBytes];
    for (size_t w = 0; w < layout::kExemplarLabelWords && w * 8 < bytes; ++w) {
      const uint64_t word = r.labels[w].load(std::memory_order_relaxed);
      std::memcpy(text + w * 8, &word, 8);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (r.seq.load(std::memory_order_relaxed) != seq) continue;
    if (bytes > kLabelBytes) return std::nullopt;
    std::string_view rest(text, bytes);
    while (!rest.empty()) {
      const size_t k = rest.find('\0');
      if (k == std::string_view::npos) return std::nullopt;
      const size_t v = rest.find('\0', k + 1);
      if (v == std::string_view::npos) return std::nullopt;
      e.labels.emplace_back(rest.substr(0, k), rest.substr(k + 1, v - k - 1));
      rest.remove_prefix(v + 1);
    }
    std::string check, why;
    if (!Encode(e.labels, &check, &why)) return std::nullopt;
    return e;
  }
  return std::nullopt;
}

}  // namespace

void exemplars::Read(const detail::SegmentImpl& s, uint64_t word, MetricSnapshot* m) {
  if (word == 0 || s.exemplar_offset == 0 || m->type == MetricType::kGauge) return;
  const uint64_t n = m->type == MetricType::kHistogram ? m->histogram.counts.size() : 1;
  const uint64_t first = word - 1;
  if (first >= s.exemplar_records || n > s.exemplar_records - first) return;
  const uint64_t used = s.header().exemplars_used.load(std::memory_order_acquire);
  if (first + n > used) return;  // pages above the cursor may be holes
  m->exemplars.resize(n);
  for (uint64_t i = 0; i < n; ++i) m->exemplars[i] = ReadRecord(s.exemplar(first + i));
}

ExemplarResult Segment::StoreExemplar(const Counter& c, double value, const Labels& labels) {
  return Store(*impl_, c.slot_, false, 0, value, labels);
}

ExemplarResult Segment::StoreExemplar(const FloatCounter& c, double value, const Labels& labels) {
  return Store(*impl_, c.slot_, false, 0, value, labels);
}

ExemplarResult Segment::StoreExemplar(const Histogram& h, double value, const Labels& labels) {
  if (value != value) throw Error(Errc::kInvalidArgument, "a histogram exemplar's value is NaN");
  return Store(*impl_, h.slots_, true, h.BucketIndex(value), value, labels);
}

}  // namespace shmstats
