// SPDX-License-Identifier: Apache-2.0
// Targeted corruption of single descriptor fields and bounds: Read() leaves the bad
// descriptor out with the exact problem, keeps every other metric, and nothing that
// uses the descriptor's offsets trusts them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "names.h"
#include "unit_fixture.h"

namespace shmstats {
namespace {

using layout::Descriptor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::DescriptorOffset;
using testing_util::Peek;
using testing_util::Poke;
using testing_util::Spec;

// A valid segment with one metric of every kind, its image, and the descriptor index
// of each metric.
class CorruptionTest : public ::testing::Test {
 protected:
  CorruptionTest() {
    Segment s = Segment::Create(name_.name(), testing_util::SmallOptions());
    s.RegisterCounter(Spec("requests_total", {{"code", "200"}}, "Requests.", "requests")).Inc(3);
    s.RegisterGauge(Spec("temperature_celsius")).Set(-4.5);
    s.RegisterHistogram(Spec("latency_seconds"), ExplicitBuckets{{0.1, 1, 10}}).Observe(0.5);
    s.RegisterHistogram(Spec("size_bytes"), ExponentialBuckets{.min = 1, .max = 1024, .schema = 2})
        .Observe(100);
    for (const MetricSnapshot& m : s.Read().metrics) index_[m.name] = m.index;
    pristine_ = testing_util::ReadBytes(name_.path());
    image_ = pristine_;
  }

  uint32_t Index(const std::string& metric) { return index_.at(metric); }

  template <class T>
  void SetField(const std::string& metric, size_t field, T value) {
    Poke<T>(image_, DescriptorOffset(Index(metric), field), value);
  }
  template <class T>
  T GetField(const std::string& metric, size_t field) {
    return Peek<T>(image_, DescriptorOffset(Index(metric), field));
  }
  // Byte offset of byte k of a metric's strings (name, labels, help, unit).
  size_t StringAt(const std::string& metric, size_t k) {
    return testing_util::StringOffset(image_, Index(metric), k);
  }
  // Byte offset of a slot of a metric (slot 0 is its first).
  size_t Slot(const std::string& metric, uint32_t k) {
    return testing_util::SlotOffset(
        image_, GetField<uint32_t>(metric, offsetof(Descriptor, slot_offset)) + k);
  }

  // Writes the image, opens it read-only and reads it. Checks that the metrics
  // other than `broken` survived intact.
  Snapshot ReadImage(const std::string& broken) {
    testing_util::WriteBytes(name_.path(), image_);
    Segment s = Segment::Open(name_.name(), Access::kReadOnly);
    Snapshot snap = s.Read();
    EXPECT_NO_THROW(s.Info());
    for (const auto& [metric, index] : index_) {
      bool present = false;
      for (const MetricSnapshot& m : snap.metrics) present = present || m.name == metric;
      EXPECT_EQ(present, metric != broken) << metric;
    }
    return snap;
  }
  // The one problem reported when `metric` is broken; it names the descriptor.
  std::string Problem(const std::string& metric) {
    Snapshot snap = ReadImage(metric);
    EXPECT_EQ(snap.problems.size(), 1u) << ::testing::PrintToString(snap.problems);
    if (snap.problems.empty()) return {};
    EXPECT_THAT(snap.problems[0], HasSubstr("descriptor " + std::to_string(Index(metric))));
    return snap.problems[0];
  }

  testing_util::ScopedSegmentName name_;
  std::map<std::string, uint32_t> index_;
  std::vector<char> pristine_;
  std::vector<char> image_;
};

TEST_F(CorruptionTest, IntactImageReadsEverything) {
  Snapshot snap = ReadImage("");
  EXPECT_TRUE(snap.problems.empty());
  EXPECT_EQ(snap.metrics.size(), 4u);
}

TEST_F(CorruptionTest, SlotOffsetBeyondMaxSlots) {
  SetField<uint32_t>("requests_total", offsetof(Descriptor, slot_offset), 1024);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("outside the 1024 slots"));
  SetField<uint32_t>("requests_total", offsetof(Descriptor, slot_offset), 0xfffffff8u);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("outside"));
}

TEST_F(CorruptionTest, SlotRangeEndingPastTheDataArea) {
  SetField<uint32_t>("latency_seconds", offsetof(Descriptor, slot_offset), 1024 - 16);
  // The last 16 slots are in range, but hold zeros where bounds should be.
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("not finite and increasing"));
  SetField<uint32_t>("latency_seconds", offsetof(Descriptor, slot_count), 24);
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("slots 1008+24"));
}

TEST_F(CorruptionTest, MisalignedOrTooFewSlots) {
  SetField<uint32_t>("temperature_celsius", offsetof(Descriptor, slot_offset), 3);
  EXPECT_THAT(Problem("temperature_celsius"), HasSubstr("slots 3+"));
  SetField<uint32_t>("temperature_celsius", offsetof(Descriptor, slot_offset), 8);
  SetField<uint32_t>("temperature_celsius", offsetof(Descriptor, slot_count), 0);
  Problem("temperature_celsius");
  SetField<uint32_t>("temperature_celsius", offsetof(Descriptor, slot_count), 1);
  SetField<uint32_t>("latency_seconds", offsetof(Descriptor, slot_count), 12);  // needs 13
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("too few"));
}

TEST_F(CorruptionTest, FieldLengthsBeyondTheirFields) {
  for (uint16_t len : {256, 1000, 0xffff}) {
    SCOPED_TRACE(len);
    uint16_t saved = GetField<uint16_t>("requests_total", offsetof(Descriptor, name_len));
    SetField<uint16_t>("requests_total", offsetof(Descriptor, name_len), len);
    EXPECT_THAT(Problem("requests_total"), HasSubstr("exceed their limits"));
    SetField<uint16_t>("requests_total", offsetof(Descriptor, name_len), saved);
  }
  SetField<uint16_t>("requests_total", offsetof(Descriptor, labels_len), 4097);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("exceed their limits"));
  SetField<uint16_t>("requests_total", offsetof(Descriptor, labels_len), 9);
  SetField<uint16_t>("requests_total", offsetof(Descriptor, help_len), 1025);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("exceed their limits"));
  SetField<uint16_t>("requests_total", offsetof(Descriptor, help_len), 9);
  SetField<uint16_t>("requests_total", offsetof(Descriptor, unit_len), 33);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("exceed their limits"));
}

TEST_F(CorruptionTest, NameAndLabelsThatBreakTheRules) {
  SetField<uint16_t>("requests_total", offsetof(Descriptor, name_len), 0);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("invalid metric name"));
  SetField<uint16_t>("requests_total", offsetof(Descriptor, name_len), 14);
  SetField<uint16_t>("requests_total", offsetof(Descriptor, labels_len), 8);  // "code\0200"
  EXPECT_THAT(Problem("requests_total"), HasSubstr("not terminated"));
  SetField<uint16_t>("requests_total", offsetof(Descriptor, labels_len), 9);
  Poke<char>(image_, StringAt("requests_total", 14), '9');  // "9ode"
  EXPECT_THAT(Problem("requests_total"), HasSubstr("invalid label name"));
}

TEST_F(CorruptionTest, KeyHashMismatch) {
  Poke<char>(image_, StringAt("requests_total", 1), 'E');  // rEquests_total
  EXPECT_THAT(Problem("requests_total"), HasSubstr("key hash does not match"));
  image_ = pristine_;
  uint64_t state = GetField<uint64_t>("requests_total", offsetof(Descriptor, state));
  SetField<uint64_t>("requests_total", offsetof(Descriptor, state), state ^ 1);
  EXPECT_THAT(Problem("requests_total"), HasSubstr("key hash does not match"));
}

TEST_F(CorruptionTest, HelpThatIsNotUtf8) {
  Poke<char>(image_, StringAt("requests_total", 14 + 9), '\xff');  // after name and labels
  EXPECT_THAT(Problem("requests_total"), HasSubstr("not UTF-8"));
}

TEST_F(CorruptionTest, UnknownType) {
  for (uint8_t type : {0, 4, 255}) {
    SetField<uint8_t>("temperature_celsius", offsetof(Descriptor, type), type);
    EXPECT_THAT(Problem("temperature_celsius"),
                HasSubstr("unknown metric type " + std::to_string(type)));
  }
}

TEST_F(CorruptionTest, BucketCountOutOfRange) {
  for (uint32_t count : {0u, 1u, uint32_t{kMaxBuckets + 1}, 0xffffffffu}) {
    SetField<uint32_t>("latency_seconds", offsetof(Descriptor, bucket_count), count);
    EXPECT_THAT(Problem("latency_seconds"),
                HasSubstr(std::to_string(count) + " buckets is out of range"));
  }
}

TEST_F(CorruptionTest, BucketCountLargerThanItsSlots) {
  SetField<uint32_t>("latency_seconds", offsetof(Descriptor, bucket_count), 5);  // has 4
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("too few"));
}

TEST_F(CorruptionTest, NonIncreasingOrNonFiniteBounds) {
  // Bounds follow [sum][4 counts]: slots 5, 6, 7 hold 0.1, 1, 10.
  Poke<double>(image_, Slot("latency_seconds", 6), 0.1);
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("not finite and increasing"));
  Poke<double>(image_, Slot("latency_seconds", 6), std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("not finite and increasing"));
  Poke<double>(image_, Slot("latency_seconds", 6), 1);
  Poke<double>(image_, Slot("latency_seconds", 7), std::numeric_limits<double>::infinity());
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("not finite and increasing"));
}

TEST_F(CorruptionTest, ExponentialParametersThatDisagreeWithTheBounds) {
  uint8_t p = GetField<uint8_t>("size_bytes", offsetof(Descriptor, schema));
  SetField<uint8_t>("size_bytes", offsetof(Descriptor, schema), p + 1);
  EXPECT_THAT(Problem("size_bytes"), HasSubstr("exponential bucket parameters"));
  for (uint8_t bad : {0, 11, 255}) {
    SetField<uint8_t>("size_bytes", offsetof(Descriptor, schema), bad);
    EXPECT_THAT(Problem("size_bytes"), HasSubstr("exponential bucket parameters"));
  }
  SetField<uint8_t>("size_bytes", offsetof(Descriptor, schema), p);
  int64_t min_key = GetField<int64_t>("size_bytes", offsetof(Descriptor, min_key));
  for (int64_t key : {min_key + 1, int64_t{-100}, std::numeric_limits<int64_t>::max()}) {
    SetField<int64_t>("size_bytes", offsetof(Descriptor, min_key), key);
    EXPECT_THAT(Problem("size_bytes"), HasSubstr("exponential bucket parameters"));
  }
  SetField<int64_t>("size_bytes", offsetof(Descriptor, min_key), min_key);
  // Positive bound n+4 is 2^(1/4), between 1 and 2^(1/2): their midpoint keeps them
  // increasing but is off the grid.
  uint32_t buckets = GetField<uint32_t>("size_bytes", offsetof(Descriptor, bucket_count));
  uint32_t n = (buckets - 3) / 2;
  ASSERT_EQ(Peek<double>(image_, Slot("size_bytes", 1 + buckets + n + 3)), 1.0);
  Poke<double>(image_, Slot("size_bytes", 1 + buckets + n + 4), (1 + std::sqrt(2.0)) / 2);
  EXPECT_THAT(Problem("size_bytes"), HasSubstr("exponential bucket parameters"));
}

TEST_F(CorruptionTest, UnknownBucketKind) {
  SetField<uint8_t>("latency_seconds", offsetof(Descriptor, bucket_kind), 7);
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("unknown bucket kind 7"));
  SetField<uint8_t>("latency_seconds", offsetof(Descriptor, bucket_kind), layout::kNoBuckets);
  EXPECT_THAT(Problem("latency_seconds"), HasSubstr("unknown bucket kind 0"));
}

TEST_F(CorruptionTest, UnpublishedStatesAreSkippedSilently) {
  uint64_t state = GetField<uint64_t>("requests_total", offsetof(Descriptor, state));
  for (uint64_t s :
       {uint64_t{layout::kFree}, uint64_t{layout::kClaimed}, uint64_t{layout::kAbandoned}}) {
    SetField<uint64_t>("requests_total", offsetof(Descriptor, state),
                       s | (state & layout::kHashMask));
    EXPECT_TRUE(ReadImage("requests_total").problems.empty());
  }
}

TEST_F(CorruptionTest, DuplicateSeriesIsReportedOnce) {
  testing_util::AppendDescriptorCopy(image_, Index("requests_total"));
  testing_util::WriteBytes(name_.path(), image_);
  Snapshot snap = Segment::Open(name_.name(), Access::kReadOnly).Read();
  EXPECT_EQ(snap.metrics.size(), 4u);
  ASSERT_EQ(snap.problems.size(), 1u);
  EXPECT_THAT(snap.problems[0], HasSubstr("duplicate series"));
}

TEST_F(CorruptionTest, FamilyWithTwoTypesIsReported) {
  // Copy the gauge's descriptor and point it at the counter's name, without labels,
  // help or unit.
  uint32_t free_index = testing_util::AppendDescriptorCopy(image_, Index("temperature_celsius"));
  std::string family = "requests_total";
  Poke<uint64_t>(image_, DescriptorOffset(free_index, offsetof(Descriptor, strings)),
                 GetField<uint64_t>(family, offsetof(Descriptor, strings)));
  for (size_t field : {offsetof(Descriptor, labels_len), offsetof(Descriptor, help_len),
                       offsetof(Descriptor, unit_len)})
    Poke<uint16_t>(image_, DescriptorOffset(free_index, field), 0);
  Poke<uint16_t>(image_, DescriptorOffset(free_index, offsetof(Descriptor, name_len)),
                 static_cast<uint16_t>(family.size()));
  Poke<uint64_t>(image_, DescriptorOffset(free_index),
                 layout::kPublished | names::KeyHash(family, ""));
  testing_util::WriteBytes(name_.path(), image_);
  Snapshot snap = Segment::Open(name_.name(), Access::kReadOnly).Read();
  EXPECT_EQ(snap.metrics.size(), 4u);
  ASSERT_EQ(snap.problems.size(), 1u);
  EXPECT_THAT(snap.problems[0], HasSubstr("family requests_total has"));
  EXPECT_THAT(snap.problems[0], HasSubstr("gauge"));
}

TEST_F(CorruptionTest, RegisteringACorruptSeriesIsAnErrorNotAWildPointer) {
  SetField<uint32_t>("requests_total", offsetof(Descriptor, slot_offset), 1 << 30);
  testing_util::WriteBytes(name_.path(), image_);
  Segment s = Segment::Open(name_.name());
  std::string message = testing_util::ErrorOf(
      [&] {
        s.RegisterCounter(Spec("requests_total", {{"code", "200"}}));
      },
      Errc::kCorrupt);
  EXPECT_THAT(message, HasSubstr("corrupt"));
  EXPECT_THAT(message, HasSubstr(name_.path()));
  // Reset skips the corrupt descriptor and resets the others.
  auto taken = s.Reset([](const MetricSnapshot&) { return true; });
  EXPECT_EQ(taken.size(), 3u);
}

TEST_F(CorruptionTest, ValuesAreNotValidated) {
  // Slot contents are values, any bits are legal: a reader shows them as they are.
  Poke<uint64_t>(image_, Slot("requests_total", 0), ~0ull);
  Poke<uint64_t>(image_, Slot("latency_seconds", 1), 1ull << 62);
  Snapshot snap = ReadImage("");
  EXPECT_TRUE(snap.problems.empty());
  for (const MetricSnapshot& m : snap.metrics) {
    if (m.name == "requests_total") {
      EXPECT_EQ(m.counter, ~0ull);
    }
    if (m.name == "latency_seconds") {
      EXPECT_THAT(m.histogram.counts, ElementsAre(1ull << 62, 1, 0, 0));
      EXPECT_EQ(m.histogram.count, (1ull << 62) + 1);
    }
  }
}

}  // namespace
}  // namespace shmstats
