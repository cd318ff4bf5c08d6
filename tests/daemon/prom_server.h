// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real Prometheus (Debian's prometheus package, 2.42) for tests: its remote-write
// receiver on, its TSDB in a temporary directory, on a loopback port reserved for it
// (ReservedPort), stopped at the end. Start() again after Stop() serves the same
// data on the same port.

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon_harness.h"

namespace shmstats::testing {

inline constexpr const char* kPrometheus = "/usr/bin/prometheus";

class PromServer {
 public:
  // `flags` go on its command line (e.g. --enable-feature=native-histograms).
  explicit PromServer(std::vector<std::string> flags = {}) : flags_(std::move(flags)) {
    Configure("global:\n  scrape_interval: 1m\n");
  }
  // Replaces its prometheus.yml (scrape jobs), read when it starts.
  void Configure(const std::string& config) { std::ofstream(dir_ / "prometheus.yml") << config; }
  ~PromServer() { Stop(); }
  // Starts it and waits (at most 60 s) until it is ready.
  bool Start() {
    std::vector<std::string> argv{kPrometheus,
                                  "--config.file=" + (dir_ / "prometheus.yml"),
                                  "--storage.tsdb.path=" + (dir_ / "data"),
                                  "--web.listen-address=127.0.0.1:" + std::to_string(port()),
                                  "--web.enable-remote-write-receiver",
                                  "--log.level=warn"};
    argv.insert(argv.end(), flags_.begin(), flags_.end());
    child_ = std::make_unique<Child>(argv, dir_ / "prometheus.log");
    return WaitFor([&] { return Get(port(), "/-/ready").status == 200; }, 60);
  }
  void Stop() {
    if (child_) child_->Stop(SIGTERM);
    child_.reset();
  }
  int port() const { return reserved_.port(); }
  std::string write_url() const {
    return "http://127.0.0.1:" + std::to_string(port()) + "/api/v1/write";
  }
  std::string Log() const { return ReadFile(dir_ / "prometheus.log"); }
  // GET /api/v1/query?query=PROMQL[&time=SECONDS]: the "result" array, or null.
  nlohmann::json Query(const std::string& promql, double at = 0) const {
    httplib::Client client("127.0.0.1", port());
    client.set_read_timeout(10);
    httplib::Params params{{"query", promql}};
    if (at > 0) params.emplace("time", std::to_string(at));
    auto res = client.Get("/api/v1/query", params, httplib::Headers{});
    if (!res || res->status != 200) return nullptr;
    auto doc = nlohmann::json::parse(res->body, nullptr, false);
    if (doc.is_discarded() || doc.value("status", "") != "success") return nullptr;
    return doc["data"]["result"];
  }
  // The value of an instant query that returns one series, or NaN.
  double Value(const std::string& promql) const {
    auto r = Query(promql);
    if (!r.is_array() || r.size() != 1) return std::nan("");
    return std::stod(r[0]["value"][1].get<std::string>());
  }

 private:
  std::vector<std::string> flags_;
  TempDir dir_;
  ReservedPort reserved_;
  std::unique_ptr<Child> child_;
};

}  // namespace shmstats::testing
