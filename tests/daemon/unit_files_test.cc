// SPDX-License-Identifier: Apache-2.0
// What the daemon writes and serves in pieces so that a document of megabytes is
// never whole in memory more than once: stats.json written to its file piece by
// piece (AtomicFile), and one /metrics render shared by the scrapes waiting for it
// but not kept after them (SharedRender).

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "daemon/aggregate.h"
#include "daemon/http/shared_render.h"
#include "daemon/state_files.h"
#include "daemon/stats_json.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("shmstats-files-" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  // Files in the directory other than `keep`.
  std::vector<std::string> Others(const std::string& keep) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().filename() != keep) out.push_back(e.path().filename());
    return out;
  }
};

// A directory holding stats.json with "old" in it.
class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteFileAtomically(file, "old"); }
  TempDir dir;
  const fs::path file = dir.path / "stats.json";
};

TEST_F(AtomicFileTest, PiecesReplaceTheFileOnlyAtCommit) {
  {
    AtomicFile f(file);
    f.Write("new ");
    f.Write("document");
    EXPECT_EQ(Slurp(file), "old");  // readers see the old one meanwhile
    f.Commit();
  }
  EXPECT_EQ(Slurp(file), "new document");
  EXPECT_TRUE(dir.Others("stats.json").empty());
}

TEST_F(AtomicFileTest, DroppedWithoutCommitLeavesTheOldFileAndNoTemporary) {
  try {
    AtomicFile f(file);
    f.Write("half a document");
    throw Error(Errc::kSystem, "the document's writer failed");
  } catch (const Error&) {
  }
  EXPECT_EQ(Slurp(file), "old");
  EXPECT_TRUE(dir.Others("stats.json").empty());
}

TEST_F(AtomicFileTest, AWriteThatFailsIsAnErrorAndLeavesTheOldFileAndNoTemporary) {
  // Files may not grow beyond 4 KiB: the write fails (EFBIG) like one on a full disk.
  struct rlimit before {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = before;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string what;
  try {
    WriteFileAtomically(file, std::string(1 << 20, 'x'));
  } catch (const Error& e) {
    what = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &before);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(what.find("cannot write"), std::string::npos) << what;
  EXPECT_NE(what.find("stats.json.tmp."), std::string::npos) << what;
  EXPECT_EQ(Slurp(file), "old");
  EXPECT_TRUE(dir.Others("stats.json").empty());
}

// 3,000 series: the document comes in several pieces of about kStatsJsonPiece
// bytes, whose concatenation is exactly the whole document.
TEST(WriteStatsJsonTest, PiecesMakeTheWholeDocument) {
  Snapshot snap;
  snap.taken_unix_ns = 100'000'000'000;
  snap.instance_id = 1;
  for (uint32_t i = 0; i < 3000; ++i) {
    MetricSnapshot m;
    m.name = "requests_total";
    m.labels = {{"route", "/a/route/of/some/length/" + std::to_string(i)}, {"code", "200"}};
    m.counter = i;
    m.index = i;
    snap.metrics.push_back(std::move(m));
  }
  Aggregator agg;
  TickResult tick = agg.Next(std::move(snap), 1000);
  StatsJsonOrder whole_order, piece_order;
  const std::string whole = StatsJson(tick, "seg", whole_order);
  std::string joined;
  size_t pieces = 0;
  WriteStatsJson(tick, "seg", piece_order, [&](std::string_view piece) {
    EXPECT_LT(piece.size(), kStatsJsonPiece + 4096);
    joined.append(piece);
    ++pieces;
  });
  EXPECT_EQ(joined, whole);
  EXPECT_GE(pieces, whole.size() / (kStatsJsonPiece + 4096) + 1);
  EXPECT_GT(pieces, 1u);
  EXPECT_EQ(nlohmann::json::parse(joined)["counters"].size(), 3000u);
  EXPECT_EQ(piece_order.last_size, whole.size());
}

using Clock = SharedRender::Clock;

TEST(SharedRenderTest, ScrapesWaitingTogetherShareOneRender) {
  SharedRender shared;
  std::atomic<int> renders{0};
  std::atomic<bool> release{false};
  const auto received = Clock::now();
  auto render = [&] {
    ++renders;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::string("text");
  };
  std::shared_ptr<const std::string> first;
  std::thread renderer([&] { first = shared.Get(received, render); });
  while (renders == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // Received before the render started, so its values are fresh enough for them.
  std::vector<std::shared_ptr<const std::string>> got(4);
  std::vector<std::thread> waiters;
  for (auto& g : got) waiters.emplace_back([&] { g = shared.Get(received, render); });
  while (shared.waiting() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  release = true;
  renderer.join();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(renders, 1);
  for (auto& g : got) EXPECT_EQ(g.get(), first.get());  // the same text, not copies
}

TEST(SharedRenderTest, ARenderIsNotKeptAfterItsLastResponse) {
  SharedRender shared;
  int renders = 0;
  auto render = [&] { return std::string(1 << 20, static_cast<char>('a' + renders++)); };
  const auto received = Clock::now();
  std::weak_ptr<const std::string> seen;
  {
    auto body = shared.Get(received, render);
    seen = body;
    // Still held by a response: a scrape received before it started gets it.
    EXPECT_EQ(shared.Get(received, render).get(), body.get());
  }
  EXPECT_TRUE(seen.expired());  // its megabyte went with its last response
  auto again = shared.Get(received, render);
  EXPECT_EQ(renders, 2);
  EXPECT_EQ((*again)[0], 'b');
  // A scrape received after a render started never gets that render.
  auto later = shared.Get(Clock::now(), render);
  EXPECT_EQ(renders, 3);
  EXPECT_NE(later.get(), again.get());
}

}  // namespace
}  // namespace shmstats::daemon
