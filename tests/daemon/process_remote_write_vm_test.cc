// SPDX-License-Identifier: Apache-2.0
// Remote-write into a real VictoriaMetrics, the second receiver: it stores the same
// series with the same values as the segment shows on /metrics, each with the
// job and instance labels.

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "daemon_harness.h"
#include "vm_server.h"

namespace shmstats::testing {
namespace {

using SeriesValues = std::map<std::string, double>;  // "name{k=v,...}" -> value

// The segment's samples on /metrics (its families only), keyed as below.
SeriesValues FromText(const std::string& text, const std::set<std::string>& names) {
  SeriesValues out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t end = line.find_first_of("{ ");
    std::string name = line.substr(0, end), key = name + "{";
    if (!names.count(name)) continue;
    size_t space = line.rfind(' ');
    if (line[end] == '{') {
      // k="v",k="v"} : values here have no quotes or commas of their own.
      std::string labels = line.substr(end + 1, line.rfind('}') - end - 1);
      std::istringstream pairs(labels);
      for (std::string pair; std::getline(pairs, pair, ',');) {
        size_t eq = pair.find('=');
        key += pair.substr(0, eq) + "=" + pair.substr(eq + 2, pair.size() - eq - 3) + ",";
      }
    }
    out[key + "}"] = std::stod(line.substr(space + 1));
  }
  return out;
}

// The last value of each series VictoriaMetrics exports for `instance`; every one
// must carry job="shmstatsd".
SeriesValues FromVm(int port, const std::string& instance, const std::set<std::string>& names,
                    std::string& problems) {
  SeriesValues out;
  auto reply = Get(
      port, "/api/v1/export?match[]=%7Binstance%3D%22" + instance + "%22%7D");  // {instance="…"}
  std::istringstream in(reply.body);
  for (std::string line; std::getline(in, line);) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_discarded()) continue;
    const auto& metric = doc["metric"];
    if (metric.value("job", "") != "shmstatsd") problems += "no job: " + line + "\n";
    std::string name = metric.value("__name__", "");
    if (!names.count(name)) continue;
    std::string key = name + "{";
    for (const auto& [k, v] : metric.items()) {  // sorted by name, as FromText's
      if (k != "__name__" && k != "job" && k != "instance")
        key += k + "=" + v.get<std::string>() + ",";
    }
    out[key + "}"] = doc["values"].back().get<double>();
  }
  return out;
}

TEST(RemoteWriteVmTest, VictoriaMetricsStoresTheSameSeriesAndValuesAsTheSegment) {
  VmServer vm;
  ASSERT_TRUE(vm.Start()) << vm.Log();
  ScopedSegmentName seg(UniqueName("rwv"));
  HistorySegment m(seg.str());
  m.c.Inc(41);
  m.g.Set(-7.25);
  for (double v : {0.05, 0.5, 0.7, 3.0}) m.h.Observe(v);
  TempDir dir;
  std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",      seg.str(),     "--state-dir",
                                   dir.str(),      "--interval",     "200ms",       "--instance",
                                   "vm-test",      "--remote-write", vm.write_url()};
  for (auto& a : ListenAnyPort(dir / "ports")) argv.push_back(a);
  Child d(argv, dir / "shmstatsd.log");
  int port = AwaitPort(dir / "ports");
  ASSERT_NE(port, 0) << d.Log();

  const std::set<std::string> names = {"req_total", "inflight", "wait_seconds_bucket",
                                       "wait_seconds_count", "wait_seconds_sum"};
  SeriesValues want = FromText(Get(port, "/metrics").body, names);
  ASSERT_EQ(want.size(), 7u) << Get(port, "/metrics").body;  // 1 + 1 + 3 buckets + count + sum
  SeriesValues got;
  std::string problems;
  EXPECT_TRUE(WaitFor(
      [&] {
        problems.clear();
        got = FromVm(vm.port(), "vm-test", names, problems);
        return got == want;
      },
      60))
      << ::testing::PrintToString(got) << "\nwant " << ::testing::PrintToString(want) << d.Log()
      << vm.Log();
  EXPECT_EQ(problems, "");
  EXPECT_EQ(d.Stop(), 0) << d.Log();
}

}  // namespace
}  // namespace shmstats::testing
