// SPDX-License-Identifier: Apache-2.0
// A claim left by a producer that died (or stalled) in the middle of its
// registration must not wedge the series it was registering. The claim is planted
// exactly as such a producer leaves it, so both cases of the protocol are hit for
// certain, for an owner that is dead and for one that is alive but stalled:
//  - linked (stopped between the index link and the publication): the next
//    registrant publishes the descriptor in its place, without waiting;
//  - unlinked (stopped while filling its descriptor): nobody can see it, and the
//    next registrant creates the series in another descriptor.

#include <gtest/gtest.h>
#include <unistd.h>

#include "process_claims.h"
#include "process_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats {
namespace {

using std::chrono::seconds;

const MetricSpec kSpec{"orphaned_total", {{"by", "dead_claim"}}, "", ""};

class DeadClaimTest : public test::ProcessTest {
 protected:
  DeadClaimTest() : ProcessTest(64, 1 << 10) {}

  // The pid of a child that has exited and been reaped: kill(pid, 0) fails with
  // ESRCH, as for a producer SIGKILLed and reaped.
  pid_t DeadPid() {
    pid_t pid = children_.Fork([] { return 0; });
    EXPECT_TRUE(children_.Wait(pid, seconds(10)).has_value());
    return pid;
  }

  pid_t StalledPid() {
    return children_.Fork([] {
      pause();  // until the fixture's Children SIGKILLs it
      return 0;
    });
  }

  // Registers kSpec in a fresh process (bounded: a wedged registration fails the
  // test), incrementing it by 3 and 4, and returns the descriptor it is read from.
  uint32_t RegisterInAChild() {
    const std::string name = guard_.name();
    pid_t registrant = children_.Fork([&name] {
      Segment s = Segment::Open(name);
      s.RegisterCounter(kSpec).Inc(3);
      s.RegisterCounter(kSpec).Inc(4);  // finds the series it just published
      return 0;
    });
    std::optional<int> status = children_.Wait(registrant, seconds(20));
    EXPECT_TRUE(status) << "registration behind a dead claim did not finish in 20 s: wedged";
    EXPECT_TRUE(status && test::ExitedCleanly(*status)) << test::DescribeStatus(status.value_or(0));
    Snapshot snap = segment_->Read();
    EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
    EXPECT_EQ(snap.metrics.size(), 1u);
    if (snap.metrics.size() != 1) return ~0u;
    EXPECT_EQ(snap.metrics[0].name, kSpec.name);
    EXPECT_EQ(snap.metrics[0].counter, 7u);
    EXPECT_EQ(segment_->Info().metrics_used, 1u);
    return snap.metrics[0].index;
  }

  void ExpectLinkedClaimPublished(pid_t owner) {
    segment_->RegisterCounter(kSpec);
    uint32_t planted = test::PlantClaim(guard_.name(), kSpec, owner, /*linked=*/true);
    EXPECT_TRUE(segment_->Read().metrics.empty()) << "a claim is visible to readers";
    EXPECT_EQ(RegisterInAChild(), planted) << "not published in place";
  }

  void ExpectUnlinkedClaimIgnored(pid_t owner) {
    uint32_t planted = test::PlantClaim(guard_.name(), kSpec, owner, /*linked=*/false);
    EXPECT_NE(RegisterInAChild(), planted);
    test::SegmentMapping mapping(guard_.name(), /*writable=*/false);
    EXPECT_EQ(mapping.descriptor(planted).state.load() & layout::kStateMask, layout::kClaimed);
  }
};

TEST_F(DeadClaimTest, LinkedClaimOfADeadProducerIsPublishedByTheNextRegistrant) {
  ExpectLinkedClaimPublished(DeadPid());
}

// info and check see a dead process's claim until a registration publishes it.
TEST_F(DeadClaimTest, InfoCountsAClaimOfADeadProducer) {
  segment_->RegisterCounter(kSpec);
  EXPECT_EQ(segment_->Info().claims_dead, 0u);
  test::PlantClaim(guard_.name(), kSpec, DeadPid(), /*linked=*/true);
  EXPECT_EQ(segment_->Info().claims_dead, 1u);
  EXPECT_EQ(segment_->Info().metrics_used, 0u);
  segment_->RegisterCounter(kSpec).Inc();  // publishes it, its owner being gone
  EXPECT_EQ(segment_->Info().claims_dead, 0u);
  EXPECT_EQ(segment_->Info().metrics_used, 1u);
}

TEST_F(DeadClaimTest, LinkedClaimOfAStalledProducerIsPublishedWithoutWaiting) {
  ExpectLinkedClaimPublished(StalledPid());
}

TEST_F(DeadClaimTest, UnlinkedClaimOfADeadProducerIsNeverWaitedFor) {
  ExpectUnlinkedClaimIgnored(DeadPid());
}

TEST_F(DeadClaimTest, UnlinkedClaimOfAStalledProducerIsNeverWaitedFor) {
  ExpectUnlinkedClaimIgnored(StalledPid());
}

}  // namespace
}  // namespace shmstats
