// SPDX-License-Identifier: Apache-2.0
// Remote-write into a real Prometheus: a running shmstatsd pushes every
// tick; PromQL over the HTTP API returns the recorded values with the instance
// label; a receiver that is down for several ticks and comes back gets every
// queued tick.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "daemon_harness.h"
#include "prom_server.h"

namespace shmstats::testing {
namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(RemoteWriteTest, PrometheusGetsEveryTickAndTheQueuedOnesAfterAnOutage) {
  PromServer prom;
  ASSERT_TRUE(prom.Start()) << prom.Log();
  ScopedSegmentName seg(UniqueName("rw"));
  HistorySegment m(seg.str());
  m.c.Inc(5);
  m.g.Set(2.5);
  for (double v : {0.05, 0.5, 3.0}) m.h.Observe(v);

  // Configured by file: the config-file key is the option's name.
  TempDir dir;
  std::ofstream(dir / "shmstatsd.conf")
      << "segment = " << seg.str() << "\nstate-dir = " << dir.str()
      << "\nlisten = 127.0.0.1:0\nport-file = " << (dir / "ports")
      << "\ninterval = 200ms\ninstance = rw-test\n"
      << "remote-write = " << prom.write_url() << "\n";
  Child d({SHMSTATSD_PATH, "--config", dir / "shmstatsd.conf"}, dir / "shmstatsd.log");
  int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();
  auto self = [&](const std::string& name) { return Scalar(Get(port, "/metrics").body, name); };
  const std::string on = "{instance=\"rw-test\"}";

  ASSERT_TRUE(WaitFor([&] { return prom.Value("req_total" + on) == 5; }, 30))
      << d.Log() << prom.Log();
  auto series = prom.Query("req_total" + on);
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0]["metric"]["instance"], "rw-test");
  EXPECT_EQ(series[0]["metric"]["code"], "200");
  EXPECT_EQ(prom.Value("inflight" + on), 2.5);
  EXPECT_EQ(prom.Value("wait_seconds_bucket{instance=\"rw-test\",le=\"0.1\"}"), 1);
  EXPECT_EQ(prom.Value("wait_seconds_bucket{instance=\"rw-test\",le=\"1.0\"}"), 2);
  EXPECT_EQ(prom.Value("wait_seconds_bucket{instance=\"rw-test\",le=\"+Inf\"}"), 3);
  EXPECT_EQ(prom.Value("wait_seconds_count" + on), 3);
  EXPECT_DOUBLE_EQ(prom.Value("wait_seconds_sum" + on), 3.55);
  // The daemon's own series go along, as /metrics has them.
  EXPECT_GE(prom.Value("shmstatsd_ticks_total" + on), 0);  // NaN when absent

  // A reset: the pushed counter is value + reset total, so it goes on from 5.
  m.segment.Reset([](const MetricSnapshot& s) { return s.name == "req_total"; });
  m.c.Inc(2);
  EXPECT_TRUE(WaitFor([&] { return prom.Value("req_total" + on) == 7; }, 20));

  // The receiver is down for several ticks.
  prom.Stop();
  m.g.Set(42);
  const double t0 = NowSeconds();
  const double ticks0 = self("shmstatsd_ticks_total");
  ASSERT_TRUE(WaitFor(
      [&] {
        return self("shmstatsd_remote_write_requests_failed_total{reason=\"network\"}") >= 3 &&
               self("shmstatsd_ticks_total") >= ticks0 + 10;
      },
      30))
      << d.Log();
  EXPECT_GT(self("shmstatsd_remote_write_queue_samples"), 0);
  auto health = nlohmann::json::parse(Get(port, "/healthz").body);
  EXPECT_EQ(health["remote_write"]["failing"], true) << health.dump();
  EXPECT_GT(health["remote_write"]["queued_samples"].get<uint64_t>(), 0u) << health.dump();
  EXPECT_EQ(health["status"], "ok") << health.dump();  // the history is fine
  const double ticks1 = self("shmstatsd_ticks_total");
  const double t1 = NowSeconds();
  ASSERT_TRUE(prom.Start()) << prom.Log();
  ASSERT_TRUE(WaitFor([&] { return self("shmstatsd_remote_write_queue_samples") == 0; }, 30))
      << d.Log();
  ASSERT_TRUE(WaitFor([&] {
    auto h = nlohmann::json::parse(Get(port, "/healthz").body);
    return h["remote_write"]["failing"] == false;
  })) << Get(port, "/healthz").body;

  // The raw points over the outage: every tick taken while it was down is there.
  auto range = prom.Query("inflight" + on + "[" + std::to_string(int(t1 - t0) + 2) + "s]", t1);
  ASSERT_EQ(range.size(), 1u) << range;
  int in_outage = 0;
  double last_ts = 0;
  for (const auto& point : range[0]["values"]) {
    double ts = point[0].get<double>();
    EXPECT_GT(ts, last_ts) << "one point per tick, in order";
    last_ts = ts;
    if (ts > t0 && ts <= t1) {
      ++in_outage;
      EXPECT_EQ(point[1], "42");
    }
  }
  // Ticks ticks0+2 .. ticks1 were all taken after t0 and before t1.
  EXPECT_GE(in_outage, ticks1 - ticks0 - 1) << range;
  EXPECT_EQ(prom.Value("req_total" + on), 7);
  EXPECT_EQ(self("shmstatsd_remote_write_samples_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_EQ(self("shmstatsd_remote_write_samples_dropped_total{reason=\"rejected\"}"), 0);
  EXPECT_GT(self("shmstatsd_remote_write_samples_sent_total"), 0);
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

// A receiver that accepts connections but never answers: every request hangs for its
// 10 s timeout, yet ticks go on every 200 ms and /metrics answers (the sender has its
// own thread), while the ticks queue. SIGTERM then stops the daemon after its 1 s
// flush: the hanging request is cancelled, not waited for.
TEST(RemoteWriteTest, AReceiverThatNeverAnswersDelaysNeitherTicksNorMetrics) {
  int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(silent, 16), 0);  // the kernel completes connections; nobody reads
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ScopedSegmentName seg(UniqueName("rws"));
  HistorySegment m(seg.str());
  TempDir dir;
  std::vector<std::string> argv = {
      SHMSTATSD_PATH,
      "--segment",
      seg.str(),
      "--state-dir",
      dir.str(),
      "--interval",
      "200ms",
      "--remote-write",
      "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/api/v1/write"};
  for (auto& a : ListenAnyPort(dir / "ports")) argv.push_back(a);
  Child d(argv, dir / "shmstatsd.log");
  int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();
  auto self = [&](const std::string& name) { return Scalar(Get(port, "/metrics").body, name); };
  ASSERT_TRUE(WaitFor([&] { return self("shmstatsd_ticks_total") >= 1; }, 10)) << d.Log();
  const double ticks0 = self("shmstatsd_ticks_total");
  EXPECT_TRUE(WaitFor([&] { return self("shmstatsd_ticks_total") >= ticks0 + 10; }, 9)) << d.Log();
  EXPECT_GT(self("shmstatsd_remote_write_queue_samples"), 0);
  EXPECT_EQ(self("shmstatsd_remote_write_samples_sent_total"), 0);
  // A request is in flight (every one hangs): it would hold the exit for up to 10 s.
  kill(d.pid(), SIGTERM);
  std::optional<int> status;
  EXPECT_TRUE(WaitFor([&] { return (status = d.Exited()).has_value(); }, 5)) << d.Log();
  EXPECT_EQ(status.value_or(-1), 0) << d.Log();
  EXPECT_NE(d.Log().find("samples not sent to"), std::string::npos) << d.Log();
  close(silent);
}

// A URL shmstatsd cannot push to, or TLS and credential files it cannot use, are
// usage errors (exit 2) with a message, found at start.
TEST(RemoteWriteTest, BadUrlsAndFilesAreUsageErrors) {
  TempDir dir;
  std::ofstream(dir / "pw") << "secret\n";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--remote-write", "https://u:p@r/api/v1/write"}, "credentials in the URL are refused"},
      {{"--remote-write", "ftp://r/"}, "does not start with http:// or https://"},
      {{"--remote-write", "http://r/", "--remote-write-ca-file", dir / "pw"},
       "is not an https:// URL"},
      {{"--remote-write", "https://r/", "--remote-write-ca-file", dir / "missing.pem"},
       "cannot load the CA file"},
      {{"--remote-write", "https://r/", "--remote-write-username", "u"},
       "needs --remote-write-password-file"},
      {{"--remote-write", "https://r/", "--remote-write-username", "u",
        "--remote-write-password-file", dir / "nope"},
       "cannot read the password file"},
      {{"--remote-write-bearer-token-file", dir / "pw"}, "need --remote-write"},
  };
  int n = 0;
  for (const auto& [args, message] : cases) {
    std::vector<std::string> argv = {SHMSTATSD_PATH, "--state-dir", dir.str()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string log = dir / ("d" + std::to_string(n++) + ".log");
    Child d(argv, log);
    EXPECT_EQ(d.Wait(), 2) << message;
    EXPECT_NE(d.Log().find(message), std::string::npos) << d.Log();
  }
}

}  // namespace
}  // namespace shmstats::testing
