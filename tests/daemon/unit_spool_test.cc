// SPDX-License-Identifier: Apache-2.0
// The on-disk tick spool (daemon/feed/spool.h): records round-trip exactly, order
// survives reopening, a torn or damaged file is dropped and counted, the bounds drop
// the oldest, and one spool has one owner.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "daemon/feed/spool.h"
#include "daemon_harness.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

using testing::TempDir;

history::TickRecord Tick(int64_t ms, uint64_t delta) {
  history::TickRecord t;
  t.unix_ms = ms;
  t.interval_ms = 60'000;
  MetricSnapshot c;
  c.name = "jobs_total";
  c.labels = {{"city", "Zürich"}, {"tool", "a\"b\n"}};
  c.help = "Jobs";
  c.counter = delta;
  t.samples.push_back(c);
  MetricSnapshot g;
  g.name = "temp";
  g.type = MetricType::kGauge;
  g.unit = "celsius";
  g.gauge = -0.0;
  t.samples.push_back(g);
  MetricSnapshot h;
  h.name = "wait_seconds";
  h.type = MetricType::kHistogram;
  h.histogram.bounds = {0.1, 1};
  h.histogram.counts = {3, 0, uint64_t{1} << 60};
  h.histogram.count = 3 + (uint64_t{1} << 60);
  h.histogram.sum = 0.30000000000000004;
  t.samples.push_back(h);
  return t;
}

void ExpectSame(const history::TickRecord& a, const history::TickRecord& b) {
  EXPECT_EQ(a.unix_ms, b.unix_ms);
  EXPECT_EQ(a.interval_ms, b.interval_ms);
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) {
    const auto &x = a.samples[i], &y = b.samples[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.labels, y.labels);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.help, y.help);
    EXPECT_EQ(x.unit, y.unit);
    EXPECT_EQ(x.counter, y.counter);
    EXPECT_EQ(std::memcmp(&x.gauge, &y.gauge, sizeof(double)), 0);  // -0.0 keeps its sign
    EXPECT_EQ(x.histogram.bounds, y.histogram.bounds);
    EXPECT_EQ(x.histogram.counts, y.histogram.counts);
    EXPECT_EQ(x.histogram.count, y.histogram.count);
    EXPECT_EQ(x.histogram.sum, y.histogram.sum);
    EXPECT_EQ(x.histogram.exponential, y.histogram.exponential);
    EXPECT_EQ(x.histogram.schema, y.histogram.schema);
  }
}

TEST(TickSpoolTest, RecordsRoundTripAndEveryTruncationOrFlipIsRejected) {
  auto tick = Tick(1'700'000'000'000, 42);
  std::string frame = EncodeTick(tick);
  auto back = DecodeTick(frame);
  ASSERT_TRUE(back);
  ExpectSame(tick, *back);
  for (size_t n = 0; n < frame.size(); ++n) {
    EXPECT_FALSE(DecodeTick(std::string_view(frame).substr(0, n))) << "torn at " << n;
  }
  for (size_t i = 0; i < frame.size(); i += 7) {
    std::string bad = frame;
    bad[i] ^= 0x10;
    EXPECT_FALSE(DecodeTick(bad)) << "flipped byte " << i;
  }
}

TEST(TickSpoolTest, OrderSurvivesReopeningAndTornFilesAreDropped) {
  TempDir dir;
  const std::string path = dir / "spool";
  {
    TickSpool spool(path, {});
    for (int i = 0; i < 5; ++i) spool.Append(Tick(1000 * (i + 1), i));
    EXPECT_EQ(spool.ticks(), 5u);
    EXPECT_GT(spool.bytes(), 0u);
  }
  // A crash while the last was written: it is cut short.
  std::filesystem::path last;
  for (const auto& e : std::filesystem::directory_iterator(path)) {
    if (e.path().extension() == ".tick" && e.path() > last) last = e.path();
  }
  std::filesystem::resize_file(last, std::filesystem::file_size(last) - 3);
  std::ofstream(path + "/notes.txt") << "not a tick";  // ignored, left alone
  TickSpool spool(path, {});
  EXPECT_EQ(spool.ticks(), 5u);
  spool.Append(Tick(6000, 5));  // numbered after the torn one
  std::vector<int64_t> seen;
  while (auto t = spool.Front()) {
    seen.push_back(t->unix_ms);
    spool.PopFront();
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1000, 2000, 3000, 4000, 6000}));
  EXPECT_EQ(spool.dropped_corrupt(), 1u);
  EXPECT_EQ(spool.ticks(), 0u);
  EXPECT_EQ(spool.bytes(), 0u);
  EXPECT_TRUE(std::filesystem::exists(path + "/notes.txt"));
}

TEST(TickSpoolTest, BoundsDropTheOldest) {
  TempDir dir;
  TickSpool by_ticks(dir / "a", {3, 1 << 20});
  for (int i = 0; i < 5; ++i) by_ticks.Append(Tick(i, i));
  EXPECT_EQ(by_ticks.ticks(), 3u);
  EXPECT_EQ(by_ticks.dropped_full(), 2u);
  EXPECT_EQ(by_ticks.Front()->unix_ms, 2);

  const uint64_t one = EncodeTick(Tick(0, 0)).size();
  TickSpool by_bytes(dir / "b", {100, 2 * one + one / 2});
  for (int i = 0; i < 4; ++i) by_bytes.Append(Tick(i, i));
  EXPECT_EQ(by_bytes.ticks(), 2u);
  EXPECT_EQ(by_bytes.bytes(), 2 * one);
  EXPECT_EQ(by_bytes.Front()->unix_ms, 2);

  TickSpool tiny(dir / "c", {100, 1});  // the newest is kept even over the bound
  tiny.Append(Tick(1, 1));
  tiny.Append(Tick(2, 2));
  EXPECT_EQ(tiny.ticks(), 1u);
  EXPECT_EQ(tiny.Front()->unix_ms, 2);
}

// A tick whose write failed after newer ticks were spooled goes back in front of
// them (the backlog stays in time order, also after a reopen); ticks handed over
// by Peek are removed by number, whatever was dropped meanwhile.
TEST(TickSpoolTest, PrependKeepsTimeOrderAndPeekedTicksAreRemovedByNumber) {
  TempDir dir;
  {
    TickSpool spool(dir / "spool", {});
    spool.Append(Tick(2'000, 2));
    spool.Append(Tick(3'000, 3));
    spool.Prepend(Tick(1'000, 1));
    auto front = spool.Peek(10);
    ASSERT_EQ(front.size(), 3u);
    EXPECT_EQ(front[0].second.unix_ms, 1'000);
    EXPECT_EQ(front[1].second.unix_ms, 2'000);
    EXPECT_EQ(front[2].second.unix_ms, 3'000);
    spool.Remove(front[1].first);
    spool.Remove(front[1].first);  // gone already: nothing
    EXPECT_EQ(spool.ticks(), 2u);
  }
  TickSpool reopened(dir / "spool", {});
  auto rest = reopened.Peek(1);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].second.unix_ms, 1'000);
  reopened.Remove(rest[0].first);
  EXPECT_EQ(reopened.Front()->unix_ms, 3'000);
}

TEST(TickSpoolTest, OneOwnerAndNoSymlinks) {
  TempDir dir;
  TickSpool first(dir / "spool", {});
  try {
    TickSpool second(dir / "spool", {});
    FAIL() << "a second owner was let in";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::kAlreadyExists);
  }
  std::filesystem::create_directory(dir / "elsewhere");
  std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "linked");
  EXPECT_THROW(TickSpool(dir / "linked", {}), Error);
  // A planted link where the next tick file goes is refused, not followed.
  std::ofstream(dir / "victim") << "keep";
  std::filesystem::create_symlink(dir / "victim", dir / "spool/0000000100000000.tick");
  EXPECT_THROW(first.Append(Tick(1, 1)), Error);
  EXPECT_EQ(testing::ReadFile(dir / "victim"), "keep");
}

}  // namespace
}  // namespace shmstats::daemon
