// SPDX-License-Identifier: Apache-2.0
// Randomised corruption: thousands of mutated copies of a valid segment (fixed
// seeds) in the header, descriptors, state words, bounds, values and file size.
// Each must either be refused by Open() with a clear shmstats::Error, or open and
// give a snapshot whose every metric is well-formed, with problems for the rest.
// Never a crash, never a hang: the magic is never left zero (Open would wait 2 s for
// a creator; that case is covered once in unit_lifecycle.cc).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using layout::Descriptor;
using layout::Header;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_util::DescriptorOffset;
using testing_util::Peek;
using testing_util::Poke;
using testing_util::Spec;

constexpr uint32_t kMaxMetrics = 16;
constexpr uint32_t kMaxSlots = 1024;

struct Field {
  size_t offset;
  size_t size;
};

constexpr Field kHeaderFields[] = {
    {offsetof(Header, format_version), 4},      {offsetof(Header, header_size), 4},
    {offsetof(Header, descriptor_size), 4},     {offsetof(Header, max_metrics), 4},
    {offsetof(Header, max_slots), 4},           {offsetof(Header, directory_offset), 8},
    {offsetof(Header, data_offset), 8},         {offsetof(Header, total_size), 8},
    {offsetof(Header, slots_used), 8},          {offsetof(Header, refused), 8},
    {offsetof(Header, abandoned), 8},           {offsetof(Header, instance_id), 8},
    {offsetof(Header, index_entries), 4},       {offsetof(Header, series_index_offset), 8},
    {offsetof(Header, family_index_offset), 8}, {offsetof(Header, strings_offset), 8},
    {offsetof(Header, string_bytes), 8},        {offsetof(Header, series_used), 8},
    {offsetof(Header, strings_used), 8},
};

constexpr Field kDescriptorFields[] = {
    {offsetof(Descriptor, state), 8},      {offsetof(Descriptor, owner_pid), 4},
    {offsetof(Descriptor, type), 1},       {offsetof(Descriptor, bucket_kind), 1},
    {offsetof(Descriptor, schema), 1},     {offsetof(Descriptor, slot_offset), 4},
    {offsetof(Descriptor, slot_count), 4}, {offsetof(Descriptor, bucket_count), 4},
    {offsetof(Descriptor, name_len), 2},   {offsetof(Descriptor, labels_len), 2},
    {offsetof(Descriptor, help_len), 2},   {offsetof(Descriptor, unit_len), 2},
    {offsetof(Descriptor, min_key), 8},    {offsetof(Descriptor, strings), 8},
};

// Applies random, mostly plausible-looking damage to a segment image. Offsets come
// from the pristine geometry, never from the (possibly damaged) image itself.
class Mutator {
 public:
  Mutator(uint64_t seed, uint64_t data_offset, std::vector<uint32_t> published,
          std::vector<uint64_t> bound_slots)
      : rng_(seed),
        data_offset_(data_offset),
        published_(std::move(published)),
        bound_slots_(std::move(bound_slots)) {}

  // Damages the contents; the size stays.
  void Mutate(std::vector<char>& image) {
    switch (Pick(9)) {
      case 0:  // any byte of the used header, magic excluded
        image[8 + Pick(sizeof(Header) - 8)] = static_cast<char>(Pick(256));
        break;
      case 1: {
        const Field& f = kHeaderFields[Pick(std::size(kHeaderFields))];
        SetInteger(image, f.offset, f.size);
        break;
      }
      case 2:  // one bit of the magic: never zero, never valid
        image[Pick(8)] ^= static_cast<char>(1 << Pick(8));
        break;
      case 3: {
        const Field& f = kDescriptorFields[Pick(std::size(kDescriptorFields))];
        SetInteger(image, DescriptorOffset(PickDescriptor(), f.offset), f.size);
        break;
      }
      case 4:  // any byte of a descriptor, reserved ones included
        image[DescriptorOffset(PickDescriptor(), Pick(layout::kDescriptorSize))] =
            static_cast<char>(Pick(256));
        break;
      case 5: {  // a state word: another state, keeping or changing the hash
        size_t at = DescriptorOffset(PickDescriptor());
        uint64_t hash = Pick(2) ? Peek<uint64_t>(image, at) & layout::kHashMask : Next();
        Poke<uint64_t>(image, at, (uint64_t{Pick(4)} << 62) | (hash & layout::kHashMask));
        break;
      }
      case 6:  // a histogram bound, or the slot just after the bounds
        Poke<double>(image, Slot(Bound()), OddDouble());
        break;
      case 7:  // a value slot: any bits are legal values
        Poke<uint64_t>(image, Slot(Pick(kMaxSlots)), Next());
        break;
      default: {  // copy a descriptor over another: duplicate series
        size_t from = DescriptorOffset(PickDescriptor()), to = DescriptorOffset(Pick(kMaxMetrics));
        std::copy_n(image.begin() + from, layout::kDescriptorSize, image.begin() + to);
        break;
      }
    }
  }

  // Sometimes truncates or extends the file, never to zero bytes.
  void MaybeResize(std::vector<char>& image) {
    if (Pick(12) != 0) return;
    if (Pick(8) == 0) {
      image.resize(1 + Pick(layout::kHeaderSize));
    } else {
      size_t delta = 8 * (1 + Pick(600));
      image.resize(Pick(2) ? image.size() + delta : image.size() - delta);
    }
  }

 private:
  uint64_t Next() { return rng_(); }
  uint64_t Pick(uint64_t n) { return rng_() % n; }

  // Usually a published descriptor, sometimes any.
  uint32_t PickDescriptor() {
    return Pick(4) ? published_[Pick(published_.size())] : static_cast<uint32_t>(Pick(kMaxMetrics));
  }
  size_t Slot(uint64_t slot) const { return data_offset_ + slot * 8; }
  uint64_t Bound() {
    uint64_t slot = bound_slots_[Pick(bound_slots_.size())];
    return Pick(8) == 0 ? slot + 1 : slot;
  }

  // Writes an integer of `size` bytes at `at`: a boundary value, a neighbour of the
  // old value, or random bits.
  void SetInteger(std::vector<char>& image, size_t at, size_t size) {
    uint64_t old = 0;
    std::memcpy(&old, image.data() + at, size);
    const uint64_t choices[] = {0,
                                1,
                                old + 1,
                                old - 1,
                                old * 2,
                                ~0ull,
                                Next(),
                                Next() % 5000,
                                128,
                                129,
                                320,
                                4096,
                                4097,
                                kMaxSlots,
                                kMaxSlots - 8,
                                1ull << 31,
                                old ^ (1ull << Pick(64))};
    uint64_t v = choices[Pick(std::size(choices))];
    std::memcpy(image.data() + at, &v, size);
  }

  double OddDouble() {
    constexpr double kChoices[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   1e-310,
                                   1e308,
                                   std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::quiet_NaN()};
    if (Pick(2)) return kChoices[Pick(std::size(kChoices))];
    uint64_t bits = Next();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }

  std::mt19937_64 rng_;
  uint64_t data_offset_;
  std::vector<uint32_t> published_;
  std::vector<uint64_t> bound_slots_;
};

// Fails the test unless every metric of the snapshot is well-formed.
void ExpectWellFormed(const Snapshot& snap) {
  for (const MetricSnapshot& m : snap.metrics) {
    SCOPED_TRACE(m.name);
    EXPECT_NO_THROW(ValidateMetricName(m.name));
    EXPECT_LT(m.index, kMaxMetrics);
    for (size_t i = 0; i < m.labels.size(); ++i) {
      EXPECT_NO_THROW(ValidateLabelName(m.labels[i].first));
      if (i > 0) {
        EXPECT_LT(m.labels[i - 1].first, m.labels[i].first);
      }
    }
    if (m.type == MetricType::kHistogram) {
      const HistogramValue& h = m.histogram;
      ASSERT_EQ(h.counts.size(), h.bounds.size() + 1);
      uint64_t sum = 0;
      for (uint64_t c : h.counts) sum += c;
      EXPECT_EQ(h.count, sum);
      for (size_t i = 0; i < h.bounds.size(); ++i) {
        EXPECT_TRUE(std::isfinite(h.bounds[i]));
        if (i > 0) {
          EXPECT_LT(h.bounds[i - 1], h.bounds[i]);
        }
      }
      EXPECT_LE(h.bounds.size() + 1, kMaxBuckets);
    } else {
      EXPECT_TRUE(m.type == MetricType::kCounter || m.type == MetricType::kGauge);
    }
  }
  for (const std::string& p : snap.problems) EXPECT_THAT(p, StartsWith("descriptor "));
}

class RandomCorruptionTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  RandomCorruptionTest() {
    SegmentOptions o;
    o.max_metrics = kMaxMetrics;
    o.max_slots = kMaxSlots;
    Segment s = Segment::Create(name_.name(), o);
    for (const char* code : {"200", "404", "500"})
      s.RegisterCounter(
           Spec("requests_total", {{"code", code}, {"method", "GET"}}, "Requests.", "requests"))
          .Inc(7);
    s.RegisterGauge(Spec("temperature_celsius", {}, "Temperature.", "celsius")).Set(-4.5);
    s.RegisterGauge(Spec("queue_depth")).Set(12);
    s.RegisterHistogram(Spec("latency_seconds", {{"route", "/"}}), ExplicitBuckets{{0.1, 1, 10}})
        .Observe(0.5);
    s.RegisterHistogram(Spec("size_bytes"), ExponentialBuckets{.min = 1, .max = 1024, .schema = 2})
        .Observe(100);
    image_ = testing_util::ReadBytes(name_.path());
    for (const MetricSnapshot& m : s.Read().metrics) {
      published_.push_back(m.index);
      if (m.type != MetricType::kHistogram) continue;
      uint32_t first =
          Peek<uint32_t>(image_, DescriptorOffset(m.index, offsetof(Descriptor, slot_offset)));
      for (size_t i = 0; i < m.histogram.bounds.size(); ++i)
        bound_slots_.push_back(first + 1 + m.histogram.counts.size() + i);
    }
  }

  testing_util::ScopedSegmentName name_;
  std::vector<char> image_;
  std::vector<uint32_t> published_;
  std::vector<uint64_t> bound_slots_;
};

TEST_P(RandomCorruptionTest, OpenAndReadNeverCrash) {
  constexpr int kCases = 5000;
  Mutator mutator(GetParam(), Peek<uint64_t>(image_, offsetof(Header, data_offset)), published_,
                  bound_slots_);
  std::mt19937_64 rng(GetParam() * 7919);
  int refused = 0, clean = 0, with_problems = 0, registered = 0;
  for (int i = 0; i < kCases; ++i) {
    SCOPED_TRACE(testing::Message() << "seed " << GetParam() << " case " << i);
    std::vector<char> image = image_;
    for (int k = 1 + static_cast<int>(rng() % 4); k > 0; --k) mutator.Mutate(image);
    mutator.MaybeResize(image);
    if (image.size() >= sizeof(uint64_t) && Peek<uint64_t>(image, 0) == 0)
      Poke<uint64_t>(image, 0, 1);  // a zero magic means "wait for the creator"
    testing_util::WriteBytes(name_.path(), image);

    bool writable = i % 10 == 0;
    std::optional<Segment> s;
    try {
      s.emplace(Segment::Open(name_.name(), writable ? Access::kReadWrite : Access::kReadOnly));
    } catch (const Error& e) {
      ++refused;
      EXPECT_THAT(e.what(), HasSubstr(name_.path()));
      EXPECT_TRUE(e.code() == Errc::kCorrupt || e.code() == Errc::kIncompatible) << e.what();
      continue;
    }
    Snapshot snap;
    ASSERT_NO_THROW(snap = s->Read());
    ASSERT_NO_THROW(s->Info());
    ExpectWellFormed(snap);
    (snap.problems.empty() ? clean : with_problems) += 1;
    if (!writable) continue;
    // Writers meet the same bytes: registration either works or throws an Error.
    try {
      s->RegisterCounter(Spec("fresh_total")).Inc();
      ++registered;
    } catch (const Error& e) {
      EXPECT_STRNE(e.what(), "");
    }
    ASSERT_NO_THROW(s->Reset([](const MetricSnapshot&) { return true; }));
    ASSERT_NO_THROW(ExpectWellFormed(s->Read()));
  }
  // The mutations reach every outcome: refused, read with problems, read clean.
  EXPECT_GT(refused, kCases / 10);
  EXPECT_GT(with_problems, kCases / 10);
  EXPECT_GT(clean, kCases / 50);
  EXPECT_GT(registered, 0);
  RecordProperty("refused", refused);
  RecordProperty("with_problems", with_problems);
  RecordProperty("clean", clean);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomCorruptionTest, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace shmstats
