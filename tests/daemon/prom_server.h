// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real Prometheus (Debian's prometheus package, 2.42) for tests: its remote-write
// receiver on, its TSDB in a temporary directory, on a loopback port reserved for it
// (ReservedPort), stopped at the end. Start() again after Stop() serves the same
// data on the same port. With PromOptions it serves https with basic auth (its
// --web.config.file; the test's own requests then go through curl with the CA and
// the password) and evaluates rule files every second.

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "daemon_harness.h"

namespace shmstats::testing {

inline constexpr const char* kPrometheus = "/usr/bin/prometheus";

struct PromOptions {
  std::string web_config;  // --web.config.file (TLS, basic auth); empty: plain http
  std::string ca_file;     // the CA that signed its certificate
  std::string user, password;
  std::vector<std::string> rule_files;  // evaluated every second
  std::string client_cert, client_key;  // for the test's requests, when it asks for one
  std::vector<std::string> flags;       // more of its command line (--enable-feature=...)
};

class PromServer {
 public:
  explicit PromServer(PromOptions options = {}) : options_(std::move(options)) {
    std::ofstream yml(dir_ / "prometheus.yml");
    yml << "global:\n  scrape_interval: 1m\n  evaluation_interval: 1s\n";
    if (!options_.rule_files.empty()) yml << "rule_files:\n";
    for (const auto& f : options_.rule_files) yml << "  - " << f << "\n";
  }
  // Replaces its prometheus.yml (scrape jobs), read when it starts.
  void Configure(const std::string& config) { std::ofstream(dir_ / "prometheus.yml") << config; }
  ~PromServer() { Stop(); }
  // Starts it and waits (at most 60 s) until it is ready.
  bool Start() {
    std::vector<std::string> argv = {kPrometheus,
                                     "--config.file=" + (dir_ / "prometheus.yml"),
                                     "--storage.tsdb.path=" + (dir_ / "data"),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port()),
                                     "--web.enable-remote-write-receiver",
                                     "--log.level=warn"};
    if (!options_.web_config.empty()) argv.push_back("--web.config.file=" + options_.web_config);
    argv.insert(argv.end(), options_.flags.begin(), options_.flags.end());
    child_ = std::make_unique<Child>(argv, dir_ / "prometheus.log");
    return WaitFor([&] { return Fetch("/-/ready").first == 200; }, 60);
  }
  void Stop() {
    if (child_) child_->Stop(SIGTERM);
    child_.reset();
  }
  int port() const { return reserved_.port(); }
  std::string write_url() const {
    return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
           "/api/v1/write";
  }
  std::string Log() const { return ReadFile(dir_ / "prometheus.log"); }
  // GET PATH?PARAMS: the status and body (0 when it did not answer).
  std::pair<int, std::string> Fetch(const std::string& path,
                                    const httplib::Params& params = {}) const {
    if (!tls()) {
      httplib::Client client("127.0.0.1", port());
      client.set_read_timeout(10);
      auto res = client.Get(path, params, httplib::Headers{});
      if (!res) return {0, ""};
      return {res->status, res->body};
    }
    std::string command = "curl -sS --max-time 10 -G -w '\\n%{http_code}' --cacert '" +
                          options_.ca_file + "' -u '" + options_.user + ":" + options_.password +
                          "' 'https://127.0.0.1:" + std::to_string(port()) + path + "'";
    if (!options_.client_cert.empty()) {
      command += " --cert '" + options_.client_cert + "' --key '" + options_.client_key + "'";
    }
    for (const auto& [k, v] : params) command += " --data-urlencode '" + k + "=" + v + "'";
    Output o = Shell(command);
    size_t nl = o.out.rfind('\n');
    if (o.status != 0 || nl == std::string::npos) return {0, ""};
    return {std::atoi(o.out.c_str() + nl + 1), o.out.substr(0, nl)};
  }
  // GET /api/v1/query?query=PROMQL[&time=SECONDS]: the "result" array, or null.
  nlohmann::json Query(const std::string& promql, double at = 0) const {
    httplib::Params params{{"query", promql}};
    if (at > 0) params.emplace("time", std::to_string(at));
    auto [status, body] = Fetch("/api/v1/query", params);
    if (status != 200) return nullptr;
    auto doc = nlohmann::json::parse(body, nullptr, false);
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
  bool tls() const { return !options_.web_config.empty(); }

  PromOptions options_;
  TempDir dir_;
  ReservedPort reserved_;
  std::unique_ptr<Child> child_;
};

}  // namespace shmstats::testing
