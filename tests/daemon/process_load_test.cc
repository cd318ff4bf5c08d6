// SPDX-License-Identifier: Apache-2.0
// The HTTP load test (hostile and numerous clients), on loopback and bounded in time: 50 slow
// connections (a byte every 2 s), 20 clients looping the most expensive history
// query the daemon allows, and 100 keep-alive clients scraping /metrics, all at
// once against 2,000 series with history. Meanwhile a probe asks /healthz and
// /metrics on fresh connections: every probe must be answered with 200 (the
// latencies are printed, not asserted: the machine is shared). Then SIGTERM, still
// under load, must stop the daemon (the time it took is printed).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "daemon_harness.h"

namespace shmstats::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kLoad = std::chrono::seconds(20);
constexpr int kSeries = 2000, kSlow = 50, kHistoryClients = 20, kScrapers = 100;
// 500 series (the bound) x 481 steps (under the 250,000 points bound).
const std::string kExpensive =
    "/stats/history?metric=load_requests_total%7Bgroup%3D%220%22%7D&from=-8h&step=1m";

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Tally {
  std::mutex mu;
  std::map<int, int> statuses;  // 0: no answer
  std::vector<double> latencies_ms;
  void Add(int status, double ms) {
    std::lock_guard lock(mu);
    ++statuses[status];
    latencies_ms.push_back(ms);
  }
  std::string Summary() {
    std::lock_guard lock(mu);
    std::sort(latencies_ms.begin(), latencies_ms.end());
    auto at = [&](double q) {
      return latencies_ms.empty()
                 ? 0.0
                 : latencies_ms[static_cast<size_t>(q * (latencies_ms.size() - 1))];
    };
    std::string s = "n=" + std::to_string(latencies_ms.size()) + " p50=" + std::to_string(at(0.5)) +
                    "ms p99=" + std::to_string(at(0.99)) + "ms max=" + std::to_string(at(1.0)) +
                    "ms statuses:";
    for (auto [status, n] : statuses) s += " " + std::to_string(status) + "x" + std::to_string(n);
    return s;
  }
};

TEST(DaemonLoadTest, HealthAndMetricsAnsweredUnderSlowClientsHistoryAndScrapes) {
  ScopedSegmentName seg(UniqueName("load"));
  TempDir dir;
  SegmentOptions options;
  options.max_metrics = kSeries + 64;
  options.max_slots = 1 << 16;
  auto segment = Segment::Create(seg.str(), options);
  std::vector<Counter> counters;
  for (int i = 0; i < kSeries; ++i) {
    counters.push_back(segment.RegisterCounter(
        {"load_requests_total",
         {{"group", std::to_string(i % 4)}, {"instance", std::to_string(i)}},
         "Requests of the load test",
         ""}));
  }
  Daemon d(seg.str(), dir);
  ASSERT_TRUE(d.ready()) << d.child().Log();
  for (int t = 0; t < 3; ++t) {  // some history for every series
    for (auto& c : counters) c.Inc(static_cast<uint64_t>(t + 1));
    ASSERT_TRUE(d.AwaitTicks(1));
  }
  auto one = Get(d.port(), kExpensive);
  ASSERT_EQ(one.status, 200) << one.body;

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::atomic<int> slow_cut{0}, trickled{0};
  threads.emplace_back([&] {  // the slow connections, one byte each every 2 s
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    std::vector<int> fds(kSlow, -1);
    std::vector<size_t> sent(kSlow, 0);
    auto next = Clock::now();
    while (!stop) {
      if (Clock::now() >= next) {
        next += std::chrono::seconds(2);
        for (int i = 0; i < kSlow; ++i) {
          if (fds[i] < 0) {
            fds[i] = ConnectLoopback(d.port());
            sent[i] = 0;
          }
          if (fds[i] < 0) continue;
          char c = request[sent[i] % request.size()];
          if (send(fds[i], &c, 1, MSG_NOSIGNAL) != 1) {  // cut by the daemon: reconnect
            close(fds[i]);
            fds[i] = -1;
            ++slow_cut;
          } else {
            ++sent[i];
            ++trickled;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  });
  Tally history, scrapes, health_probe, metrics_probe;
  for (int i = 0; i < kHistoryClients; ++i) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", d.port());
      client.set_read_timeout(15);
      while (!stop) {
        auto start = Clock::now();
        auto r = client.Get(kExpensive);
        history.Add(r ? r->status : 0, Ms(Clock::now() - start));
        // Refused (503 at once): a short pause, so as not to spin two shared cores.
        if (!r || r->status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  for (int i = 0; i < kScrapers; ++i) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", d.port());
      client.set_keep_alive(true);
      client.set_read_timeout(15);
      while (!stop) {
        auto start = Clock::now();
        auto r = client.Get("/metrics");
        scrapes.Add(r ? r->status : 0, Ms(Clock::now() - start));
        if (!r) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  // The probe: fresh connections, as a monitoring system's would be.
  auto load_end = Clock::now() + kLoad;
  // Probe once every kind of load is running: history and /metrics answered at least
  // once and a slow connection has trickled a byte.
  auto answered = [](Tally& t) {
    std::lock_guard lock(t.mu);
    return !t.latencies_ms.empty();
  };
  EXPECT_TRUE(WaitFor([&] { return answered(history) && answered(scrapes) && trickled > 0; }, 30));
  while (Clock::now() < load_end) {
    for (auto* probe : {&health_probe, &metrics_probe}) {
      auto start = Clock::now();
      auto r = Get(d.port(), probe == &health_probe ? "/healthz" : "/metrics");
      probe->Add(r.status, Ms(Clock::now() - start));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  // SIGTERM under the same load.
  auto term = Clock::now();
  kill(d.child().pid(), SIGTERM);
  std::optional<int> status;
  while (!(status = d.child().Exited()) && Clock::now() - term < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  double stop_ms = Ms(Clock::now() - term);
  stop = true;
  for (auto& t : threads) t.join();

  std::printf("healthz probe:  %s\n", health_probe.Summary().c_str());
  std::printf("metrics probe:  %s\n", metrics_probe.Summary().c_str());
  std::printf("/metrics keep-alive clients: %s\n", scrapes.Summary().c_str());
  std::printf("/stats/history clients: %s\n", history.Summary().c_str());
  std::printf("slow connections cut by the request deadline: %d\n", slow_cut.load());
  std::printf("SIGTERM to exit: %.0f ms\n", stop_ms);
  ASSERT_TRUE(status.has_value()) << "shmstatsd still running 10 s after SIGTERM";
  EXPECT_EQ(*status, 0) << d.child().Log();
  // Every probe answered, with 200.
  EXPECT_FALSE(health_probe.statuses.empty());
  for (auto [code, n] : health_probe.statuses) EXPECT_EQ(code, 200) << n << " probes";
  for (auto [code, n] : metrics_probe.statuses) EXPECT_EQ(code, 200) << n << " probes";
  // History was served, and beyond the queue refused at once rather than queued.
  EXPECT_GT(history.statuses[200], 0);
  for (auto [code, n] : history.statuses) {
    EXPECT_TRUE(code == 200 || code == 503 || code == 0) << code << " x" << n;
  }
  EXPECT_GT(slow_cut.load(), 0) << "no slow connection was ever cut";
}

// One client holds 520 idle keep-alive connections (more than the daemon's cap)
// while the daemon runs with few descriptors (RLIMIT_NOFILE 700, inherited): new
// scrapes and health checks are still answered 200 (the oldest idle connections
// give way), and the daemon's own files (stats.json, the history) never fail for
// want of a descriptor.
TEST(DaemonLoadTest, IdleKeepAliveConnectionsOfOneClientNeverKeepScrapesOut) {
  constexpr int kIdle = 520;
  ScopedSegmentName seg(UniqueName("idle"));
  TempDir dir;
  auto segment = Segment::Create(seg.str(), Small());
  segment.RegisterCounter({"idle_test_total", {}, "", ""}).Inc(3);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit few{700, 700};
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &few), 0);
  Daemon d(seg.str(), dir);
  setrlimit(RLIMIT_NOFILE, &saved);  // back up again where this user may (root)
  ASSERT_TRUE(d.ready()) << d.child().Log();

  const std::string request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  std::vector<int> held;
  int answered = 0;
  for (int i = 0; i < kIdle; ++i) {
    int fd = ConnectLoopback(d.port());
    ASSERT_GE(fd, 0) << "connection " << i;
    held.push_back(fd);
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    pollfd p{fd, POLLIN, 0};
    char head[16] = {};
    if (poll(&p, 1, 15'000) == 1 && recv(fd, head, 12, 0) == 12 &&
        std::string(head, 12) == "HTTP/1.1 200") {
      ++answered;
    }
  }
  EXPECT_EQ(answered, kIdle) << "every connection's request answered 200";
  std::map<int, int> scrapes, health;
  for (int i = 0; i < 20; ++i) {
    ++scrapes[Get(d.port(), "/metrics").status];
    ++health[Get(d.port(), "/healthz").status];
  }
  EXPECT_EQ(scrapes, (std::map<int, int>{{200, 20}}));
  EXPECT_EQ(health, (std::map<int, int>{{200, 20}}));
  // The daemon's files: ticks go on, stats.json is replaced, nothing ran out.
  auto stats_before = std::filesystem::last_write_time(dir / "stats.json");
  ASSERT_TRUE(d.AwaitTicks(2)) << d.child().Log();
  EXPECT_GT(std::filesystem::last_write_time(dir / "stats.json"), stats_before);
  std::string metrics = Get(d.port(), "/metrics").body;
  double idle_closed = Scalar(metrics, "shmstatsd_http_connections_closed_total{reason=\"idle\"}");
  std::printf("idle connections closed for new ones: %.0f; refused: %.0f\n", idle_closed,
              Scalar(metrics, "shmstatsd_http_connections_closed_total{reason=\"refused\"}"));
  EXPECT_GE(idle_closed, kIdle - (700 - 256));
  for (int fd : held) close(fd);
  std::string log = d.child().Log();
  EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log;
  EXPECT_NE(log.find("at most 444 connections"), std::string::npos) << log;
  EXPECT_EQ(d.child().Stop(SIGTERM), 0) << log;
}

}  // namespace
}  // namespace shmstats::testing
