// A claim left by a producer that died (or stalled) before it published must not
// wedge the series it was registering. The claim is planted exactly as a
// registrant leaves it right after its claim CAS, so each of the library's three
// cases is hit for certain: owner known dead (abandoned at once), owner never
// recorded (pid 0) and owner alive but stalled (both abandoned after the claim
// timeout). The registrant must then probe on and publish the series elsewhere.

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

  // Plants a claim of kSpec's home descriptor for `owner`, registers kSpec in a
  // fresh process (bounded: a wedged registration fails the test) and checks the
  // series was published once, elsewhere, and the claim abandoned.
  void ExpectClaimAbandoned(pid_t owner) {
    uint32_t home = test::PlantClaim(guard_.name(), kSpec, owner);
    const std::string name = guard_.name();
    pid_t registrant = children_.Fork([&name] {
      Segment s = Segment::Open(name);
      s.RegisterCounter(kSpec).Inc(3);
      s.RegisterCounter(kSpec).Inc(4);  // finds the series it just published
      return 0;
    });
    std::optional<int> status = children_.Wait(registrant, seconds(20));
    ASSERT_TRUE(status) << "registration behind a dead claim did not finish in 20 s: wedged";
    ASSERT_TRUE(test::ExitedCleanly(*status)) << "registrant " << test::DescribeStatus(*status);

    Snapshot snap = segment_->Read();
    EXPECT_TRUE(snap.problems.empty()) << snap.problems.front();
    ASSERT_EQ(snap.metrics.size(), 1u);
    EXPECT_EQ(snap.metrics[0].name, kSpec.name);
    EXPECT_EQ(snap.metrics[0].counter, 7u);
    EXPECT_NE(snap.metrics[0].index, home) << "published in the abandoned descriptor";
    test::SegmentMapping mapping(guard_.name(), /*writable=*/false);
    EXPECT_EQ(mapping.descriptor(home).state.load() & layout::kStateMask, layout::kAbandoned);
    EXPECT_EQ(segment_->Info().metrics_abandoned, 1u);
    EXPECT_EQ(segment_->Info().metrics_used, 1u);
  }
};

TEST_F(DeadClaimTest, ClaimOfADeadProducerIsAbandoned) { ExpectClaimAbandoned(DeadPid()); }

// info and check see a dead process's claim before any registration clears it.
TEST_F(DeadClaimTest, InfoCountsAClaimOfADeadProducer) {
  EXPECT_EQ(segment_->Info().claims_dead, 0u);
  test::PlantClaim(guard_.name(), kSpec, DeadPid());
  EXPECT_EQ(segment_->Info().claims_dead, 1u);
  EXPECT_EQ(segment_->Info().metrics_abandoned, 0u);
  segment_->RegisterCounter(kSpec).Inc();  // abandons it at once, its owner being gone
  EXPECT_EQ(segment_->Info().claims_dead, 0u);
  EXPECT_EQ(segment_->Info().metrics_abandoned, 1u);
}

TEST_F(DeadClaimTest, ClaimWithoutARecordedOwnerIsAbandonedAfterTheTimeout) {
  ExpectClaimAbandoned(0);
}

TEST_F(DeadClaimTest, ClaimOfAStalledLiveProducerIsAbandonedAfterTheTimeout) {
  pid_t stalled = children_.Fork([] {
    pause();  // until the fixture's Children SIGKILLs it
    return 0;
  });
  ExpectClaimAbandoned(stalled);
}

}  // namespace
}  // namespace shmstats
