// SPDX-License-Identifier: Apache-2.0
// Three real shmstatsd with different --instance names write into one real
// PostgreSQL 15 (--history-db postgresql://...); statsctl and /stats/summary answer
// per instance and summed, and agree with the raw export of the same store.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "daemon_harness.h"
#include "pg_server.h"
#include "spool_helpers.h"

namespace shmstats::testing {
namespace {

TEST(PostgresDaemonTest, ThreeInstancesOneStore) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  std::vector<std::unique_ptr<ScopedSegmentName>> names;
  std::vector<Segment> segments;
  std::vector<std::unique_ptr<TempDir>> dirs;
  std::vector<std::unique_ptr<Daemon>> daemons;
  SegmentOptions small;
  small.max_metrics = 16;
  small.max_slots = 1024;
  for (int k = 0; k < 3; ++k) {
    names.push_back(
        std::make_unique<ScopedSegmentName>(UniqueName(("pg" + std::to_string(k)).c_str())));
    segments.push_back(Segment::Create(names.back()->str(), small));
    dirs.push_back(std::make_unique<TempDir>());
  }
  for (int k = 0; k < 3; ++k) {
    daemons.push_back(
        std::make_unique<Daemon>(names[k]->str(), *dirs[k],
                                 std::vector<std::string>{"--history-db", pg.url(), "--instance",
                                                          "node-" + std::to_string(k)}));
    ASSERT_TRUE(daemons.back()->ready()) << daemons.back()->child().Log();
  }
  std::vector<Counter> counters;
  for (auto& s : segments) counters.push_back(s.RegisterCounter({"jobs_total", {}, "", ""}));
  for (auto& d : daemons) ASSERT_TRUE(d->AwaitTicks(1));
  for (int k = 0; k < 3; ++k) counters[k].Inc(100 * (k + 1));
  for (auto& d : daemons) ASSERT_TRUE(d->AwaitTicks(2));
  for (auto& d : daemons) ASSERT_EQ(d->child().Stop(SIGTERM), 0) << d->child().Log();

  std::string sc = std::string(STATSCTL_PATH) + " --json history --db '" + pg.url() + "' ";
  auto per = Shell(sc + "summary jobs_total --from -1h --by instance");
  ASSERT_EQ(per.status, 0) << per.out;
  auto j = nlohmann::json::parse(per.out);
  ASSERT_EQ(j["series"].size(), 3u);
  for (const auto& row : j["series"]) {
    int k = row["instance"].get<std::string>().back() - '0';
    EXPECT_EQ(row["increase"].get<uint64_t>(), 100u * (k + 1)) << row.dump();
  }
  auto one = Shell(sc + "summary 'jobs_total{instance=\"node-1\"}' --from -1h");
  ASSERT_EQ(one.status, 0);
  EXPECT_EQ(nlohmann::json::parse(one.out)["series"][0]["increase"].get<uint64_t>(), 200u);
  auto summed = Shell(sc + "summary jobs_total --from -1h --by job");
  ASSERT_EQ(summed.status, 0);
  EXPECT_EQ(nlohmann::json::parse(summed.out)["series"][0]["increase"].get<uint64_t>(), 600u);
  auto raw = nlohmann::json::parse(Shell(sc + "export --from -1h").out);
  uint64_t total = 0;
  for (const auto& s : raw["samples"]) total += s["value"].get<uint64_t>();
  EXPECT_EQ(total, 600u);

  // The same over HTTP from a daemon reading the store (its own segment is absent).
  TempDir dir;
  ScopedSegmentName absent(UniqueName("pgx"));
  Daemon server(absent.str(), dir, {"--history-db", pg.url(), "--instance", "reader"});
  ASSERT_TRUE(server.ready()) << server.child().Log();
  auto r = Get(server.port(), "/stats/summary?metric=jobs_total&from=-1h&by=instance");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(nlohmann::json::parse(r.body)["series"], j["series"]);
  auto bad = Get(server.port(), "/stats/summary?metric=jobs_total&from=-1h'%3B%20DROP%20TABLE%20x");
  EXPECT_EQ(bad.status, 400);
}

// One counter, jobs_total, in a small segment, and a shmstatsd that writes its
// history to `pg` as --instance `instance`.
class SoloDaemon {
 public:
  SoloDaemon(const PgServer& pg, const std::string& instance)
      : seg_(UniqueName("pgs")),
        segment_(Segment::Create(seg_.str(), Options())),
        counter_(segment_.RegisterCounter({"jobs_total", {}, "", ""})),
        daemon_(seg_.str(), dir_, {"--history-db", pg.url(), "--instance", instance}) {}
  std::pair<Counter&, Daemon&> parts() { return {counter_, daemon_}; }

 private:
  static SegmentOptions Options() {
    SegmentOptions o;
    o.max_metrics = 16;
    o.max_slots = 1024;
    return o;
  }
  ScopedSegmentName seg_;
  Segment segment_;
  Counter counter_;
  TempDir dir_;
  Daemon daemon_;
};

// PostgreSQL stopped for several ticks: the daemon keeps collecting and serving
// /metrics, /healthz says degraded, the ticks wait in order (in the on-disk spool)
// and go in once the server is back: every increment arrives once.
TEST(PostgresDaemonTest, OutageLosesAndDuplicatesNothing) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  SoloDaemon solo(pg, "solo");
  auto [c, d] = solo.parts();  // references into solo
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  ASSERT_TRUE(pg.Stop());
  for (int i = 0; i < 3; ++i) {
    c.Inc(7);
    ASSERT_TRUE(d.AwaitTicks(1));
  }
  EXPECT_EQ(Get(d.port(), "/healthz").status, 503);
  EXPECT_GE(Scalar(Get(d.port(), "/metrics").body, "shmstatsd_history_pending_ticks"), 2);
  ASSERT_TRUE(pg.Start()) << pg.Log();
  c.Inc(7);
  ASSERT_TRUE(WaitFor(
      [&] {
        return Scalar(Get(d.port(), "/metrics").body, "shmstatsd_history_pending_ticks") == 0 &&
               Get(d.port(), "/healthz").status == 200;
      },
      20))
      << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(1));
  ASSERT_EQ(d.child().Stop(SIGTERM), 0);
  EXPECT_EQ(Stored(pg.url(), "jobs_total").total, 28u);  // and no tick time twice
}

// A store that stops answering (PostgreSQL frozen with SIGSTOP for 30 s): the
// write is abandoned at its deadline (--history-timeout, 10 s by default) and
// collection keeps its 1 s interval meanwhile, the ticks spooled; /metrics answers;
// /healthz is 503 ("stuck" and then "failing"); after SIGCONT the spool is sent and
// every increment is stored once, one row per tick.
TEST(PostgresDaemonTest, AFrozenStoreStopsNeitherTicksNorScrapes) {
  PgServer pg;
  ASSERT_TRUE(pg.started()) << pg.Log();
  SoloDaemon solo(pg, "frozen");
  auto [c, d] = solo.parts();  // references into solo
  ASSERT_TRUE(d.ready()) << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  // The store's statistics, measured after the first write.
  nlohmann::json healthy;
  ASSERT_TRUE(WaitFor([&] { return (healthy = Health(d.port())).contains("store"); }, 20))
      << healthy.dump();
  EXPECT_EQ(healthy["store"]["backend"], "postgresql");
  EXPECT_GE(healthy["store"]["series"].get<int64_t>(), 1);
  ASSERT_TRUE(pg.Freeze(true));
  struct Thaw {
    PgServer& pg;
    ~Thaw() { pg.Freeze(false); }
  } thaw{pg};
  const double before = d.Ticks();
  uint64_t added = 0;
  bool unhealthy = false;
  std::set<std::string> reasons;
  const auto frozen_until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // Bounded: 30 s of the freeze, one tick awaited (at most 12 s) per round.
  for (int round = 0; round < 200 && std::chrono::steady_clock::now() < frozen_until; ++round) {
    c.Inc(3);
    added += 3;
    ASSERT_TRUE(d.AwaitTicks(1)) << "collection stopped while the store was frozen\n"
                                 << d.child().Log();
    auto h = Health(d.port());
    if (h.is_object() && h["code"] == 503) {
      unhealthy = true;
      reasons.insert(h["history"].get<std::string>());
    }
    auto metrics = Get(d.port(), "/metrics");
    ASSERT_EQ(metrics.status, 200) << d.child().Log();
  }
  const double during = d.Ticks() - before;
  std::printf("ticks taken while the store was frozen: %.0f\n", during);
  EXPECT_GE(during, 10) << "ticks taken during a 30 s freeze at a 1 s interval";
  EXPECT_TRUE(unhealthy) << Get(d.port(), "/healthz").body;
  EXPECT_TRUE(reasons.count("stuck") || reasons.count("failing"));
  EXPECT_GE(Scalar(Get(d.port(), "/metrics").body, "shmstatsd_history_pending_ticks"), 1);
  ASSERT_TRUE(pg.Freeze(false));
  c.Inc(4);
  added += 4;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto h = Health(d.port());
        return h.is_object() && h["code"] == 200 && h["backlog"]["ticks"] == 0;
      },
      60))
      << Get(d.port(), "/healthz").body << d.child().Log();
  ASSERT_TRUE(d.AwaitTicks(2));
  const double ticks = d.Ticks();
  ASSERT_EQ(d.child().Stop(SIGTERM), 0) << d.child().Log();
  const StoredSamples stored = Stored(pg.url(), "jobs_total");  // no tick time twice
  EXPECT_EQ(stored.total, added);
  // One row per tick: every tick after the first (a baseline) has its row.
  EXPECT_GE(static_cast<double>(stored.times), ticks - 1);
}

}  // namespace
}  // namespace shmstats::testing
