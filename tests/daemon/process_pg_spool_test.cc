// SPDX-License-Identifier: Apache-2.0
// A real PostgreSQL 15 that goes away: the daemon spools its ticks on disk, is
// restarted (SIGTERM, then SIGKILL) while the server is down, and sends the spool in
// order once it is back, killed once more as it starts sending: no tick is lost and
// none is stored twice, also when the whole spool is sent a second time.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "daemon_harness.h"
#include "pg_server.h"
#include "spool_helpers.h"

namespace shmstats::testing {
namespace {

TEST(PostgresSpoolTest, RestartsWhileDownAndAKillWhileSendingLoseAndDuplicateNothing) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  ScopedSegmentName seg(UniqueName("pgs"));
  auto s = Segment::Create(seg.str(), Small());
  auto c = s.RegisterCounter({"jobs_total", {}, "", ""});
  std::vector<Counter> filler;  // bigger ticks: sending the spool takes a while
  for (int i = 0; i < 200; ++i) {
    filler.push_back(s.RegisterCounter({"filler_total", {{"i", std::to_string(i)}}, "", ""}));
  }
  TempDir dir;
  const std::vector<std::string> args = {"--history-db", pg.url(), "--instance", "spool"};
  uint64_t added = 0;
  auto add = [&](Daemon& d) {
    c.Inc(7);
    added += 7;
    for (auto& f : filler) f.Inc();
    return d.AwaitTicks(2);  // a completed tick holds it
  };

  auto d = std::make_unique<Daemon>(seg.str(), dir, args);
  ASSERT_TRUE(d->ready()) << d->child().Log();
  ASSERT_TRUE(d->AwaitTicks(2));
  ASSERT_TRUE(add(*d));
  ASSERT_TRUE(pg.Stop());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(add(*d));
  auto h = Health(d->port());
  EXPECT_EQ(h["code"], 503) << h.dump();
  EXPECT_GE(h["backlog"]["ticks"].get<int>(), 5) << h.dump();
  EXPECT_GT(h["backlog"]["bytes"].get<int>(), 0) << h.dump();
  EXPECT_GT(Scalar(Get(d->port(), "/metrics").body, "shmstatsd_history_pending_bytes"), 0);
  ASSERT_EQ(d->child().Stop(SIGTERM), 0);
  const size_t after_first = SpoolFiles(dir).size();
  EXPECT_GE(after_first, 6u);

  // Restarted while PostgreSQL is still down: the spool is kept and grows.
  d = std::make_unique<Daemon>(seg.str(), dir, args);
  ASSERT_TRUE(d->ready()) << d->child().Log();
  ASSERT_TRUE(d->AwaitTicks(2));
  EXPECT_GT(Health(d->port())["backlog"]["ticks"].get<size_t>(), after_first);
  ASSERT_TRUE(add(*d));
  ASSERT_EQ(d->child().Stop(SIGKILL), 128 + SIGKILL);  // at most an empty tick is lost
  auto before_send = SpoolFiles(dir);
  ASSERT_GT(before_send.size(), after_first);
  TempDir copy;  // the whole spool, to be sent a second time below
  for (const auto& f : before_send) std::filesystem::copy_file(f, copy / f.filename().string());

  // PostgreSQL is back; the next daemon is killed as soon as it starts sending.
  ASSERT_TRUE(pg.Start()) << pg.Log();
  {
    Child killed(
        {SHMSTATSD_PATH, "--segment", seg.str(), "--state-dir", dir.str(), "--listen",
         "127.0.0.1:0", "--interval", "1s", "--history-db", pg.url(), "--instance", "spool"},
        dir / "killed.log");
    // Killed once the first spooled tick is in (polled with psql), or at the latest
    // when the sending is logged as done.
    std::string psql = std::string(kPgBin) + "/psql -Atc 'SELECT count(DISTINCT ts_ms) FROM " +
                       "shmstats_samples' '" + pg.url() + "'";
    const std::string stored = Shell(psql).out;
    ASSERT_TRUE(WaitFor(
        [&] {
          return Shell(psql).out != stored ||
                 killed.Log().find("backlog sent") != std::string::npos;
        },
        20));
    killed.Stop(SIGKILL);
    std::cout << "spooled ticks left by the kill: " << SpoolFiles(dir).size() << " of "
              << before_send.size() << "\n";
  }

  // The next sends the rest; then the copy of the whole spool is sent again.
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      for (const auto& f : before_send) {
        std::filesystem::copy_file(copy / f.filename().string(), f);
      }
    }
    d = std::make_unique<Daemon>(seg.str(), dir, args);
    ASSERT_TRUE(d->ready()) << d->child().Log();
    ASSERT_TRUE(WaitFor([&] {
      auto j = Health(d->port());
      return j.is_object() && j["code"] == 200 && j["backlog"]["ticks"] == 0 &&
             j["backlog"]["bytes"] == 0;
    })) << d->child().Log();
    EXPECT_EQ(SpoolFiles(dir).size(), 0u);
    ASSERT_TRUE(d->AwaitTicks(1));
    ASSERT_TRUE(add(*d));
    ASSERT_EQ(d->child().Stop(SIGTERM), 0) << d->child().Log();
  }

  auto stored = Stored(pg.url(), "jobs_total");  // fails on a tick time stored twice
  EXPECT_EQ(stored.total, added);
  // Every spooled tick is stored (but the one of a first tick, which has no counter delta).
  EXPECT_GE(stored.times + 1, before_send.size());
}

}  // namespace
}  // namespace shmstats::testing
