// SPDX-License-Identifier: Apache-2.0
// Segment lifecycle: create, open, open-or-create, names, permissions, read-only
// access, Replaced() and the bounded wait for a segment still being initialised.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "unit_fixture.h"

namespace shmstats {
namespace {

using ::testing::HasSubstr;
using testing_util::ErrorOf;
using testing_util::ScopedSegmentName;
using testing_util::SmallOptions;
using testing_util::Spec;

TEST(SegmentLifecycleTest, CreateThenOpenSeesTheSameMetrics) {
  ScopedSegmentName name;
  Segment created = Segment::Create(name.name(), SmallOptions());
  created.RegisterCounter(Spec("jobs_total")).Inc(3);

  Segment opened = Segment::Open(name.name());
  Snapshot snap = opened.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  EXPECT_EQ(snap.metrics[0].name, "jobs_total");
  EXPECT_EQ(snap.metrics[0].counter, 3u);
  EXPECT_EQ(snap.instance_id, created.Read().instance_id);
  EXPECT_EQ(opened.name(), name.name());

  SegmentInfo info = opened.Info();
  EXPECT_EQ(info.name, name.name());
  EXPECT_EQ(info.path, name.path());
  EXPECT_EQ(info.format_version, layout::kFormatVersion);
  EXPECT_EQ(info.max_metrics, 32u);
  EXPECT_EQ(info.max_slots, 1024u);
  EXPECT_EQ(info.metrics_used, 1u);
  EXPECT_EQ(info.slots_used, 2u);  // a counter: value and reset total
  EXPECT_EQ(info.registrations_refused, 0u);
  struct stat st {};
  ASSERT_EQ(stat(name.path().c_str(), &st), 0);
  EXPECT_EQ(info.size_bytes, static_cast<uint64_t>(st.st_size));
}

TEST(SegmentLifecycleTest, OpenOrCreateCreatesOnceThenOpens) {
  ScopedSegmentName name;
  Segment first = Segment::OpenOrCreate(name.name(), SmallOptions());
  first.RegisterGauge(Spec("temperature")).Set(21.5);
  SegmentOptions other = SmallOptions();
  other.max_metrics = 7;  // ignored: the segment exists
  Segment second = Segment::OpenOrCreate(name.name(), other);
  EXPECT_EQ(second.Info().max_metrics, 32u);
  EXPECT_EQ(second.Info().instance_id, first.Info().instance_id);
  ASSERT_EQ(second.Read().metrics.size(), 1u);
  EXPECT_EQ(second.Read().metrics[0].gauge, 21.5);
}

TEST(SegmentLifecycleTest, CreateOnAnExistingNameIsAlreadyExists) {
  ScopedSegmentName name;
  Segment first = Segment::Create(name.name(), SmallOptions());
  first.RegisterCounter(Spec("kept_total")).Inc();
  std::string message =
      ErrorOf([&] { Segment::Create(name.name(), SmallOptions()); }, Errc::kAlreadyExists);
  EXPECT_THAT(message, HasSubstr(name.path()));
  EXPECT_EQ(first.Read().metrics.at(0).counter, 1u) << "the existing segment was damaged";
}

TEST(SegmentLifecycleTest, OpenMissingIsNotFoundWithAHint) {
  ScopedSegmentName name;
  std::string message = ErrorOf([&] { Segment::Open(name.name()); }, Errc::kNotFound);
  EXPECT_THAT(message, HasSubstr(name.path()));
  EXPECT_THAT(message, HasSubstr("does not exist"));
  ErrorOf([&] { Segment::Open(name.name(), Access::kReadOnly); }, Errc::kNotFound);
  EXPECT_FALSE(Segment::Remove(name.name()));
}

TEST(SegmentLifecycleTest, RefusesNamesThatEscapeDevShm) {
  const std::string too_long(201, 'a');
  for (std::string bad :
       {"../x", "a/b", "", ".", "..", "/abs", "sp ace", "caf\xc3\xa9", too_long.c_str()}) {
    SCOPED_TRACE("name '" + bad + "'");
    EXPECT_THAT(ErrorOf([&] { Segment::ValidateName(bad); }, Errc::kInvalidArgument),
                HasSubstr("invalid segment name"));
    ErrorOf([&] { Segment::Create(bad, SmallOptions()); }, Errc::kInvalidArgument);
    ErrorOf([&] { Segment::Open(bad); }, Errc::kInvalidArgument);
    ErrorOf([&] { Segment::OpenOrCreate(bad, SmallOptions()); }, Errc::kInvalidArgument);
    ErrorOf([&] { Segment::Remove(bad); }, Errc::kInvalidArgument);
  }
  std::string nul_inside("ab\0cd", 5);
  ErrorOf([&] { Segment::ValidateName(nul_inside); }, Errc::kInvalidArgument);
  EXPECT_NO_THROW(Segment::ValidateName("a"));
  EXPECT_NO_THROW(Segment::ValidateName("my-app_1.metrics"));
  EXPECT_NO_THROW(Segment::ValidateName(std::string(200, 'z')));
}

TEST(SegmentLifecycleTest, LongestValidNameCanBeCreated) {
  ScopedSegmentName name;  // keeps cleanup uniform; the long name is removed below
  std::string longest = name.name() + std::string(200 - name.name().size(), 'x');
  Segment s = Segment::Create(longest, SmallOptions());
  EXPECT_EQ(s.Info().path, "/dev/shm/" + longest);
  EXPECT_TRUE(Segment::Remove(longest));
}

TEST(SegmentLifecycleTest, RefusesBadCapacityAndMode) {
  ScopedSegmentName name;
  SegmentOptions o = SmallOptions();
  o.max_metrics = 0;
  EXPECT_THAT(ErrorOf([&] { Segment::Create(name.name(), o); }, Errc::kInvalidArgument),
              HasSubstr("max_metrics"));
  o = SmallOptions();
  o.max_slots = 7;
  EXPECT_THAT(ErrorOf([&] { Segment::Create(name.name(), o); }, Errc::kInvalidArgument),
              HasSubstr("max_slots"));
  o = SmallOptions();
  o.mode = 010644;
  ErrorOf([&] { Segment::Create(name.name(), o); }, Errc::kInvalidArgument);
  ErrorOf([&] { Segment::Open(name.name()); }, Errc::kNotFound);  // nothing left behind
}

TEST(SegmentLifecycleTest, ModeIsAppliedDespiteUmask) {
  for (mode_t mode : {0600, 0640, 0644, 0660}) {
    ScopedSegmentName name("-" + std::to_string(mode));
    mode_t old_umask = umask(077);
    SegmentOptions o = SmallOptions();
    o.mode = mode;
    Segment s = Segment::Create(name.name(), o);
    umask(old_umask);
    struct stat st {};
    ASSERT_EQ(stat(name.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, mode);
    EXPECT_EQ(s.Info().mode, mode);
    EXPECT_EQ(s.Info().uid, st.st_uid);
    EXPECT_EQ(s.Info().gid, st.st_gid);
  }
}

TEST(SegmentLifecycleTest, DefaultModeIsGroupReadable) {
  ScopedSegmentName name;
  SegmentOptions o;
  o.max_metrics = 4;
  o.max_slots = 64;
  EXPECT_EQ(Segment::Create(name.name(), o).Info().mode, 0640u);
}

TEST(SegmentLifecycleTest, GroupOptionChangesTheGroup) {
  ScopedSegmentName name;
  SegmentOptions o = SmallOptions();
  // Root may give the segment any group; others only one of their own.
  o.group = geteuid() == 0 ? gid_t{4} : getegid();
  Segment s = Segment::Create(name.name(), o);
  struct stat st {};
  ASSERT_EQ(stat(name.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, *o.group);
  EXPECT_EQ(s.Info().gid, *o.group);
}

TEST(SegmentLifecycleTest, ReadOnlyOpenCannotRegisterOrReset) {
  ScopedSegmentName name;
  Segment writer = Segment::Create(name.name(), SmallOptions());
  writer.RegisterCounter(Spec("hits_total")).Inc(5);
  Segment reader = Segment::Open(name.name(), Access::kReadOnly);
  EXPECT_THAT(ErrorOf([&] { reader.RegisterCounter(Spec("new_total")); }, Errc::kInvalidArgument),
              HasSubstr("read-only"));
  ErrorOf([&] { reader.RegisterGauge(Spec("g")); }, Errc::kInvalidArgument);
  ErrorOf([&] { reader.RegisterHistogram(Spec("h"), ExplicitBuckets{{1}}); },
          Errc::kInvalidArgument);
  EXPECT_THAT(ErrorOf([&] { reader.Reset([](const MetricSnapshot&) { return true; }); },
                      Errc::kInvalidArgument),
              HasSubstr("read-only"));
  Snapshot snap = reader.Read();
  ASSERT_EQ(snap.metrics.size(), 1u);
  EXPECT_EQ(snap.metrics[0].counter, 5u);
  EXPECT_EQ(reader.Info().metrics_used, 1u);
}

TEST(SegmentLifecycleTest, ReplacedAfterRemoveAndRecreate) {
  ScopedSegmentName name;
  Segment old_segment = Segment::Create(name.name(), SmallOptions());
  Segment reader = Segment::Open(name.name(), Access::kReadOnly);
  old_segment.RegisterCounter(Spec("before_total")).Inc();
  EXPECT_FALSE(reader.Replaced());

  EXPECT_TRUE(Segment::Remove(name.name()));
  EXPECT_TRUE(reader.Replaced());
  EXPECT_EQ(reader.Read().metrics.size(), 1u) << "a removed segment stays mapped";

  Segment recreated = Segment::Create(name.name(), SmallOptions());
  EXPECT_TRUE(reader.Replaced());
  EXPECT_TRUE(old_segment.Replaced());
  EXPECT_FALSE(recreated.Replaced());
  Segment reopened = Segment::Open(name.name(), Access::kReadOnly);
  EXPECT_FALSE(reopened.Replaced());
  EXPECT_NE(reopened.Read().instance_id, reader.Read().instance_id);
  EXPECT_TRUE(reopened.Read().metrics.empty());
}

TEST(SegmentLifecycleTest, MovedSegmentKeepsHandlesValid) {
  ScopedSegmentName name;
  Segment s = Segment::Create(name.name(), SmallOptions());
  Counter c = s.RegisterCounter(Spec("moved_total"));
  Segment moved = std::move(s);
  c.Inc(4);
  EXPECT_EQ(moved.Read().metrics.at(0).counter, 4u);
}

// A file whose magic is still zero: a creator that has not finished.
std::vector<char> UninitialisedImage() {
  ScopedSegmentName scratch("-image");
  Segment::Create(scratch.name(), SmallOptions());
  std::vector<char> bytes = testing_util::ReadBytes(scratch.path());
  testing_util::Poke<uint64_t>(bytes, offsetof(layout::Header, magic), 0);
  return bytes;
}

TEST(SegmentLifecycleTest, OpenOfANeverInitialisedSegmentTimesOut) {
  ScopedSegmentName name;
  testing_util::WriteBytes(name.path(), UninitialisedImage());
  std::string message = ErrorOf([&] { Segment::Open(name.name()); }, Errc::kTimeout);
  EXPECT_THAT(message, HasSubstr(name.path()));
  EXPECT_THAT(message, HasSubstr("never initialised"));
}

TEST(SegmentLifecycleTest, OpenWaitsForACreatorToPublishTheMagic) {
  ScopedSegmentName name;
  testing_util::WriteBytes(name.path(), UninitialisedImage());
  std::thread creator([path = name.path()] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // Publish the magic the way a creator does: one atomic release store.
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    void* header = mmap(nullptr, layout::kHeaderSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    ASSERT_NE(header, MAP_FAILED);
    static_cast<layout::Header*>(header)->magic.store(layout::kMagic, std::memory_order_release);
    munmap(header, layout::kHeaderSize);
  });
  std::optional<Segment> opened;
  EXPECT_NO_THROW(opened.emplace(Segment::Open(name.name(), Access::kReadOnly)));
  creator.join();
  if (opened) {
    EXPECT_EQ(opened->Info().max_metrics, 32u);
  }
}

}  // namespace
}  // namespace shmstats
