// SPDX-License-Identifier: Apache-2.0
// Open() refuses segments whose header breaks the format, naming what it found.
// Each case writes a crafted image into /dev/shm/<name> using layout.h offsets.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::Peek;
using testing_util::Poke;
using testing_util::Spec;

// A valid image of a small segment with one counter, and a name to write it under.
class HeaderValidationTest : public ::testing::Test {
 protected:
  HeaderValidationTest() {
    Segment s = Segment::Create(name_.name(), testing_util::SmallOptions());
    s.RegisterCounter(Spec("requests_total")).Inc(9);
    pristine_ = testing_util::ReadBytes(name_.path());
    image_ = pristine_;
  }

  // Writes the (modified) image and returns the message of the Error that Open
  // throws, checking its code, that it names the segment's path, and that read-only
  // and read-write opens agree.
  std::string OpenError(Errc code) {
    testing_util::WriteBytes(name_.path(), image_);
    std::string message = ErrorOf([&] { Segment::Open(name_.name(), Access::kReadOnly); }, code);
    EXPECT_THAT(message, HasSubstr(name_.path()));
    EXPECT_EQ(ErrorOf([&] { Segment::Open(name_.name()); }, code), message);
    EXPECT_EQ(ErrorOf([&] { Segment::OpenOrCreate(name_.name()); }, code), message);
    return message;
  }

  template <class T>
  void Set(size_t header_field_offset, T value) {
    Poke<T>(image_, header_field_offset, value);
  }

  testing_util::ScopedSegmentName name_;
  std::vector<char> pristine_;
  std::vector<char> image_;
};

TEST_F(HeaderValidationTest, UntouchedImageOpens) {
  testing_util::WriteBytes(name_.path(), image_);
  Segment s = Segment::Open(name_.name(), Access::kReadOnly);
  Snapshot snap = s.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  EXPECT_EQ(snap.metrics[0].counter, 9u);
  EXPECT_TRUE(snap.problems.empty());
}

TEST_F(HeaderValidationTest, OtherFormatVersionIsIncompatible) {
  Set<uint32_t>(offsetof(layout::Header, format_version), 7);
  std::string message = OpenError(Errc::kIncompatible);
  EXPECT_THAT(message, HasSubstr("format version 7"));
  EXPECT_THAT(message, HasSubstr("reads version 4"));
  EXPECT_THAT(message, HasSubstr("upgrade the reader"));
}

TEST_F(HeaderValidationTest, VersionThreeSegmentIsRefusedWithHowToRecreateIt) {
  // Format 3 probed the series index from the key hash alone; 4 has a hot zone first.
  Set<uint32_t>(offsetof(layout::Header, format_version), 3);
  std::string message = OpenError(Errc::kIncompatible);
  EXPECT_THAT(message, HasSubstr("format version 3; this build reads version 4"));
  EXPECT_THAT(message, HasSubstr("statsctl remove " + name_.name()));
  EXPECT_THAT(message, HasSubstr("restart its producers"));
}

TEST_F(HeaderValidationTest, UnknownMagicIsIncompatibleAndShown) {
  Set<uint64_t>(offsetof(layout::Header, magic), 0x1122334455667788ull);
  std::string message = OpenError(Errc::kIncompatible);
  EXPECT_THAT(message, HasSubstr("not a shmstats segment"));
  EXPECT_THAT(message, HasSubstr("0x1122334455667788"));
}

TEST_F(HeaderValidationTest, TextFileIsIncompatible) {
  std::string text(5000, 'x');
  image_.assign(text.begin(), text.end());
  EXPECT_THAT(OpenError(Errc::kIncompatible), HasSubstr("not a shmstats segment"));
}

TEST_F(HeaderValidationTest, FileShorterThanAHeaderIsCorrupt) {
  image_.resize(100);
  std::string message = OpenError(Errc::kCorrupt);
  EXPECT_THAT(message, HasSubstr("100 bytes"));
  EXPECT_THAT(message, HasSubstr("too small"));
}

TEST_F(HeaderValidationTest, TruncatedFileIsCorruptAndSizesAreNamed) {
  uint64_t total = image_.size();
  image_.resize(total - 4096);
  std::string message = OpenError(Errc::kCorrupt);
  EXPECT_THAT(message, HasSubstr(std::to_string(total)));
  EXPECT_THAT(message, HasSubstr(std::to_string(total - 4096)));
}

TEST_F(HeaderValidationTest, ExtendedFileIsCorrupt) {
  uint64_t total = image_.size();
  image_.resize(total + 8);
  std::string message = OpenError(Errc::kCorrupt);
  EXPECT_THAT(message, HasSubstr(std::to_string(total + 8)));
}

TEST_F(HeaderValidationTest, CapacityThatDoesNotMatchTheSizeIsCorrupt) {
  Set<uint32_t>(offsetof(layout::Header, max_slots), 2048);  // file holds 1024
  EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("do not match its capacity"));
}

TEST_F(HeaderValidationTest, TotalSizeFieldThatDisagreesIsCorrupt) {
  Set<uint64_t>(offsetof(layout::Header, total_size), image_.size() + 4096);
  EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr(std::to_string(image_.size() + 4096)));
}

TEST_F(HeaderValidationTest, WrongOffsetsAreCorrupt) {
  Set<uint64_t>(offsetof(layout::Header, directory_offset), 0);
  OpenError(Errc::kCorrupt);
  image_ = pristine_;
  Set<uint64_t>(offsetof(layout::Header, data_offset), 4096);
  OpenError(Errc::kCorrupt);
  for (size_t field :
       {offsetof(layout::Header, series_index_offset),
        offsetof(layout::Header, family_index_offset), offsetof(layout::Header, strings_offset)}) {
    image_ = pristine_;
    Set<uint64_t>(field, 0);
    OpenError(Errc::kCorrupt);
  }
  image_ = pristine_;
  Set<uint32_t>(offsetof(layout::Header, index_entries), 1024);
  OpenError(Errc::kCorrupt);
  image_ = pristine_;
  Set<uint64_t>(offsetof(layout::Header, string_bytes), 4097);
  EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("out of range"));
}

TEST_F(HeaderValidationTest, WrongHeaderOrDescriptorSizeIsCorrupt) {
  Set<uint32_t>(offsetof(layout::Header, descriptor_size), 512);
  EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("descriptor size 512"));
  Set<uint32_t>(offsetof(layout::Header, descriptor_size), layout::kDescriptorSize);
  Set<uint32_t>(offsetof(layout::Header, header_size), 64);
  EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("header size 64"));
}

TEST_F(HeaderValidationTest, CapacityOutOfRangeIsCorrupt) {
  for (uint32_t metrics : {0u, layout::kMaxMetricsLimit + 1, 0xffffffffu}) {
    SCOPED_TRACE(metrics);
    image_ = pristine_;
    Set<uint32_t>(offsetof(layout::Header, max_metrics), metrics);
    EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("out of range"));
  }
  for (uint32_t slots : {0u, 7u, layout::kMaxSlotsLimit + 1, 0xffffffffu}) {
    SCOPED_TRACE(slots);
    image_ = pristine_;
    Set<uint32_t>(offsetof(layout::Header, max_slots), slots);
    EXPECT_THAT(OpenError(Errc::kCorrupt), HasSubstr("out of range"));
  }
}

TEST_F(HeaderValidationTest, CountersInTheHeaderAreNotTrusted) {
  // slots_used beyond capacity, absurd refusal and abandon counts: Open and Info
  // still work, and Info reports slots_used within capacity.
  Set<uint64_t>(offsetof(layout::Header, slots_used), ~0ull);
  Set<uint64_t>(offsetof(layout::Header, series_used), ~0ull);
  Set<uint64_t>(offsetof(layout::Header, strings_used), ~0ull);
  Set<uint64_t>(offsetof(layout::Header, refused), 12345);
  testing_util::WriteBytes(name_.path(), image_);
  Segment s = Segment::Open(name_.name());
  SegmentInfo info = s.Info();
  EXPECT_LE(info.slots_used, info.max_slots);
  EXPECT_LE(info.strings_used, info.string_bytes);
  EXPECT_EQ(info.registrations_refused, 12345u);
  EXPECT_EQ(s.Read().metrics.size(), 1u);
  ErrorOf([&] { s.RegisterCounter(Spec("more_total")); }, Errc::kFull);
}

}  // namespace
}  // namespace shmstats
