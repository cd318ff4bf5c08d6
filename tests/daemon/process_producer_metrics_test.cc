// SPDX-License-Identifier: Apache-2.0
// shmstatsd's process metrics: a producer burning CPU has process_* series that rise
// between scrapes, labelled by its job and pid; one that opted out has none; the
// daemon has its own (unlabelled) and shmstats_build_info; statsctl ps shows the
// last activity the daemon saw.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "daemon_harness.h"

namespace shmstats::testing {
namespace {

// The value of the series `name{labels}` (labels as rendered) in a text exposition;
// nullopt if absent.
std::optional<double> Sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return std::nullopt;
}

// A forked producer: registers a counter under `job`, then burns CPU (or idles) until
// killed, for at most 120 s.
pid_t Producer(const std::string& segment, const std::string& job, bool burn, bool allow) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  try {
    Segment s = Segment::Open(segment);
    s.SetJob(job);
    s.SetProcessMetrics(allow);
    auto c = s.RegisterCounter({"work_total", {{"job", job}}, "Work", ""});
    // Burns CPU (bounded to 120 s), or idles until the test kills it.
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    if (!burn) alarm(120);
    while (burn && std::chrono::steady_clock::now() < end) {
      for (int i = 0; i < 1'000'000; ++i) c.Inc();
    }
    while (!burn) pause();
  } catch (...) {
    _exit(1);
  }
  _exit(0);
}

// Kills and reaps a forked producer, at the latest when the test ends.
struct Reaped {
  pid_t pid;
  void Reap() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = 0;
  }
  ~Reaped() { Reap(); }
};

TEST(ProducerMetrics, BurningProducerRisesOptedOutHasNoneDaemonHasItsOwn) {
  ScopedSegmentName name(UniqueName("prodmetrics"));
  Segment segment = Segment::Create(name.str(), Small());
  Reaped burner{Producer(name.str(), "burner", /*burn=*/true, /*allow=*/true)};
  Reaped quiet{Producer(name.str(), "quiet", /*burn=*/false, /*allow=*/false)};
  ASSERT_TRUE(WaitFor([&] {
    int live = 0;
    for (const auto& p : segment.Producers()) live += p.alive;
    return live == 2;
  }));
  TempDir dir;
  Daemon daemon(name.str(), dir);
  ASSERT_TRUE(daemon.ready()) << daemon.child().Log();

  const pid_t burner_pid = burner.pid;
  const std::string cpu =
      "process_cpu_seconds_total{job=\"burner\",pid=\"" + std::to_string(burner.pid) + "\"}";
  const std::string first = Get(daemon.port(), "/metrics").body;
  auto before = Sample(first, cpu);
  ASSERT_TRUE(before) << first;
  // The CPU time rises between scrapes (bounded wait, no fixed sleep).
  double after = *before;
  EXPECT_TRUE(WaitFor([&] {
    after = Sample(Get(daemon.port(), "/metrics").body, cpu).value_or(-1);
    return after > *before;
  })) << "before "
      << *before << ", after " << after;
  const std::string pid_label = "pid=\"" + std::to_string(burner.pid) + "\"";
  for (const char* family : {"process_resident_memory_bytes", "process_open_fds", "process_threads",
                             "process_start_time_seconds"})
    EXPECT_TRUE(Sample(first, std::string(family) + "{job=\"burner\"," + pid_label + "}"))
        << family;
  EXPECT_GT(*Sample(first, "process_resident_memory_bytes{job=\"burner\"," + pid_label + "}"), 0);
  EXPECT_EQ(*Sample(first, "process_threads{job=\"burner\"," + pid_label + "}"), 1);
  // Opted out: nothing of it.
  EXPECT_EQ(first.find("pid=\"" + std::to_string(quiet.pid) + "\""), std::string::npos) << first;
  EXPECT_EQ(first.find("job=\"quiet\",pid"), std::string::npos);
  // The daemon's own, unlabelled, as prometheus_client exports them.
  EXPECT_TRUE(Sample(first, "process_cpu_seconds_total"));
  EXPECT_TRUE(Sample(first, "process_start_time_seconds"));
  EXPECT_EQ(Sample(first, "shmstatsd_process_metrics_hidden"), 0);
  EXPECT_TRUE(std::regex_search(first, std::regex("\nshmstats_build_info\\{revision=\"[^\"]+\","
                                                  "version=\"[0-9]+\\.[0-9]+\\.[0-9]+\"\\} 1\n")))
      << first;
  // The exposition is one valid document: promtool agrees.
  {
    const std::string path = dir / "metrics.txt";
    std::ofstream(path) << first;
    EXPECT_EQ(Shell(std::string(PROMTOOL_PATH) + " check metrics < " + path + " >/dev/null").status,
              0);
  }
  // OpenMetrics too.
  const std::string om =
      Get(daemon.port(), "/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}})
          .body;
  EXPECT_NE(om.find("process_cpu_seconds_total{job=\"burner\""), std::string::npos) << om;

  // The daemon noted the burner's activity (its counter changes every tick) in its
  // record, where statsctl ps reads it.
  EXPECT_TRUE(WaitFor([&] {
    for (const auto& p : segment.Producers())
      if (p.pid == static_cast<uint32_t>(burner_pid)) return p.last_activity_unix_ns > 0;
    return false;
  }));
  // Once the burner is killed, its series go at the next scrape.
  burner.Reap();
  EXPECT_TRUE(
      WaitFor([&] { return Get(daemon.port(), "/metrics").body.find(cpu) == std::string::npos; }));
}

}  // namespace
}  // namespace shmstats::testing
