// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the backlog tests read: /healthz as JSON, the spool's tick files, and the
// sum of one series' exported samples with each tick time checked to appear once.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace shmstats::testing {

// /healthz's document with its HTTP status as "code"; null when it does not parse.
inline nlohmann::json Health(int port) {
  auto r = Get(port, "/healthz");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) j["code"] = r.status;
  return j;
}

inline std::vector<std::filesystem::path> SpoolFiles(const TempDir& state_dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(state_dir / "spool", ec)) {
    if (e.path().extension() == ".tick") out.push_back(e.path());
  }
  return out;
}

struct StoredSamples {
  uint64_t total = 0;
  size_t times = 0;  // distinct tick times
};

// `statsctl history --db DB export NAME --from -1h`: the sum of the samples; a tick
// time seen twice (a duplicated tick) fails the test.
inline StoredSamples Stored(const std::string& db, const std::string& name) {
  auto out = Shell(std::string(STATSCTL_PATH) + " --json history --db '" + db + "' export " + name +
                   " --from -1h");
  auto j = nlohmann::json::parse(out.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << out.out;
  StoredSamples s;
  if (!j.is_object()) return s;
  std::set<std::string> times;
  for (const auto& sample : j["samples"]) {
    s.total += sample["value"].get<uint64_t>();
    EXPECT_TRUE(times.insert(sample["t"].get<std::string>()).second) << sample.dump();
  }
  s.times = times.size();
  return s;
}

}  // namespace shmstats::testing
