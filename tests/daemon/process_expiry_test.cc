// SPDX-License-Identifier: Apache-2.0
// Idle expiry by the real shmstatsd: statsd series idle past a 2 s --statsd-ttl
// disappear while active ones stay, a C++ series registered with a 2 s TTL
// disappears while one without stays, and a statsd name sent again comes back from
// zero. Every wait polls a condition with a deadline.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "daemon/expiry.h"
#include "daemon_harness.h"
#include "shmstats/shmstats.h"

namespace shmstats::testing {
namespace {

void SendUdp(int port, const std::string& line) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  sendto(fd, line.data(), line.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  close(fd);
}

// The counter value of name{labels} in the segment, or -1 when it is not shown.
double Value(const Segment& s, const std::string& name) {
  for (const MetricSnapshot& m : s.Read().metrics)
    if (m.name == name) return static_cast<double>(m.counter);
  return -1;
}

TEST(ExpiryTest, IdleSeriesDisappearAndActiveOnesStay) {
  ScopedSegmentName seg(UniqueName("expiry"));
  Segment segment = Segment::Create(seg.str(), Small());
  MetricSpec with_ttl{"cpp_idle_total", {}, "", ""};
  with_ttl.ttl_seconds = 2;
  segment.RegisterCounter(with_ttl).Inc(3);
  segment.RegisterCounter(MetricSpec{"cpp_kept_total", {}, "", ""}).Inc(1);
  TempDir dir;
  Daemon d(seg.str(), dir, {"--statsd", "127.0.0.1:0", "--statsd-ttl", "2s"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  const int statsd = d.statsd_port();
  ASSERT_NE(statsd, 0);
  SendUdp(statsd, "idle_total:1|c");
  SendUdp(statsd, "active_total:1|c");
  ASSERT_TRUE(WaitFor([&] { return Value(segment, "idle_total") == 1; }, 20));

  // The active one is sent every 100 ms until the idle ones are gone (at most 30 s).
  uint64_t sent = 1;
  const bool expired = WaitFor(
      [&] {
        SendUdp(statsd, "active_total:1|c");
        ++sent;
        return Value(segment, "idle_total") < 0 && Value(segment, "cpp_idle_total") < 0;
      },
      30);
  ASSERT_TRUE(expired) << d.child().Log();
  EXPECT_GE(Value(segment, "active_total"), 1);
  EXPECT_EQ(Value(segment, "cpp_kept_total"), 1);
  EXPECT_GT(segment.Info().deleted_total, 1u);

  // Sent again, the idle name comes back from zero.
  SendUdp(statsd, "idle_total:5|c");
  EXPECT_TRUE(WaitFor([&] { return Value(segment, "idle_total") == 5; }, 20))
      << Value(segment, "idle_total");
  // Every active line was recorded (none went into a deleted series).
  EXPECT_TRUE(
      WaitFor([&] { return Value(segment, "active_total") == static_cast<double>(sent); }, 20))
      << Value(segment, "active_total") << " of " << sent;
}

// A series found idle, then deleted by someone else and its room given to another
// key (zero-valued like it) before the expiry runs: the expiry leaves the new key
// alone (it matches the series' identity, not only its index and values).
TEST(ExpiryTest, AnIdleSeriesWhoseRoomWentToAnotherKeyIsNotExpiredInItsPlace) {
  ScopedSegmentName seg(UniqueName("expiry-refill"));
  SegmentOptions o = Small();
  o.max_metrics = 4;
  Segment segment = Segment::Create(seg.str(), o);
  MetricSpec idle{"old_total", {}, "", ""};
  idle.ttl_seconds = 1;
  segment.RegisterCounter(idle);
  for (int i = 0; i < 3; ++i)
    segment.RegisterCounter(MetricSpec{"fill_total", {{"k", std::to_string(i)}}, "", ""});
  daemon::Expiry expiry;
  expiry.Observe(segment.Read(), 0);
  expiry.Observe(segment.Read(), 2000);  // old_total idle for its TTL: due
  uint32_t index = ~0u;
  for (const MetricSnapshot& m :
       segment.Delete([](const MetricSnapshot& m) { return m.name == "old_total"; }))
    index = m.index;
  ASSERT_NE(index, ~0u);
  const uint64_t deleted = Segment::DeletionMark();
  ASSERT_TRUE(WaitFor([&] { return Segment::DeletionMark() > deleted + 2; }, 5));
  segment.DroppedDeletedBefore(Segment::DeletionMark());  // this test holds no handle to it
  segment.RegisterCounter(MetricSpec{"new_total", {}, "", ""});
  bool refilled = false;
  for (const MetricSnapshot& m : segment.Read().metrics)
    refilled = refilled || (m.name == "new_total" && m.index == index);
  ASSERT_TRUE(refilled) << "the deleted room did not go to new_total";
  EXPECT_EQ(expiry.Run(seg.str()), 0u);
  EXPECT_EQ(Value(segment, "new_total"), 0);
}

// A small segment and unique statsd names sent in waves, each after the previous
// one expired: the expired series' room goes to the next wave's names (the door
// declares its dropped handles), so no wave is refused once earlier ones expired.
TEST(ExpiryTest, ExpiredStatsdSeriesLeaveTheirRoomToLaterWaves) {
  constexpr int kWaves = 3;
  constexpr int kNames = 12;  // more than the room left fresh after the first wave
  ScopedSegmentName seg(UniqueName("waves"));
  SegmentOptions options = Small();
  options.max_metrics = 16;
  Segment segment = Segment::Create(seg.str(), options);
  TempDir dir;
  Daemon d(seg.str(), dir, {"--statsd", "127.0.0.1:0", "--statsd-ttl", "1s"});
  ASSERT_TRUE(d.ready()) << d.child().Log();
  const int statsd = d.statsd_port();
  ASSERT_NE(statsd, 0);
  auto name = [](int wave, int i) { return fmt::format("wave{}_s{:02}_total", wave, i); };
  for (int wave = 0; wave < kWaves; ++wave) {
    std::string datagram;
    for (int i = 0; i < kNames; ++i) datagram += fmt::format("{}:1|c\n", name(wave, i));
    auto all = [&](bool shown) {
      for (int i = 0; i < kNames; ++i)
        if ((Value(segment, name(wave, i)) >= 1) != shown) return false;
      return true;
    };
    // Sent again until shown (UDP may drop a datagram); a refused name never is.
    ASSERT_TRUE(WaitFor(
        [&] {
          SendUdp(statsd, datagram);
          return all(true);
        },
        20))
        << "wave " << wave << ": " << segment.Info().registrations_refused << " refused\n"
        << d.child().Log();
    ASSERT_TRUE(WaitFor([&] { return all(false); }, 30)) << "wave " << wave << " never expired";
    // The next wave comes when a process started now is later than the deletions.
    const uint64_t expired = Segment::DeletionMark();
    ASSERT_TRUE(WaitFor([&] { return Segment::DeletionMark() > expired + 2; }, 5));
  }
  EXPECT_EQ(segment.Info().descriptors_used, 16u);  // the later waves took deleted room
  EXPECT_EQ(segment.Info().registrations_refused, 0u);
  EXPECT_TRUE(segment.Read().problems.empty());
}

}  // namespace
}  // namespace shmstats::testing
