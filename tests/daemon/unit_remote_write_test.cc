// SPDX-License-Identifier: Apache-2.0
// Remote-write encoding: our own bodies decoded with the code protoc
// generated from daemon/remote_write.proto, snappy round trips, URL parsing, and the
// queue's drop-oldest policy against an in-process receiver.

#include <gtest/gtest.h>
#include <httplib.h>
#include <snappy.h>

#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/exposition.h"
#include "daemon/push/credentials.h"
#include "daemon/push/encode.h"
#include "daemon/push/http_client.h"
#include "daemon/push/remote_write.h"
#include "daemon/push/remote_write.pb.h"
#include "daemon_harness.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

namespace rw = shmstats::remote_write;

// A counter that was reset (7 now, 10 taken by resets), a gauge, a histogram with
// reset totals, and a series with its own `instance` label.
Snapshot Sample() {
  Snapshot s;
  MetricSnapshot c;
  c.name = "req_total";
  c.labels = {{"code", "200"}};
  c.type = MetricType::kCounter;
  c.counter = 7;
  c.counter_reset_total = 10;
  s.metrics.push_back(c);
  MetricSnapshot g;
  g.name = "inflight";
  g.type = MetricType::kGauge;
  g.gauge = -2.5;
  s.metrics.push_back(g);
  MetricSnapshot h;
  h.name = "wait_seconds";
  h.labels = {{"path", "/a"}};
  h.type = MetricType::kHistogram;
  h.histogram.bounds = {0.1, 1};
  h.histogram.counts = {1, 2, 3};
  h.histogram.count = 6;
  h.histogram.sum = 8.5;
  h.histogram.reset_counts = {10, 0, 1};
  h.histogram.reset_sum = 2;
  s.metrics.push_back(h);
  MetricSnapshot own;
  own.name = "jobs";
  own.labels = {{"Zone", "z"}, {"instance", "theirs"}};
  own.type = MetricType::kGauge;
  own.gauge = 1;
  s.metrics.push_back(own);
  return s;
}

rw::WriteRequest Decode(const std::string& body) {
  std::string raw;
  EXPECT_TRUE(snappy::IsValidCompressedBuffer(body.data(), body.size()));
  EXPECT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  rw::WriteRequest req;
  EXPECT_TRUE(req.ParseFromString(raw));
  return req;
}

// "name{k=v,...}" of a decoded series (labels in wire order), and its labels checked.
std::string Key(const rw::TimeSeries& ts) {
  std::string key;
  for (int i = 0; i < ts.labels_size(); ++i) {
    if (i > 0) {
      EXPECT_LT(ts.labels(i - 1).name(), ts.labels(i).name()) << "labels sorted and unique";
    }
  }
  for (const auto& l : ts.labels()) {
    if (l.name() == "__name__") key = l.value() + key;
  }
  key += "{";
  for (const auto& l : ts.labels()) {
    if (l.name() != "__name__") key += l.name() + "=" + l.value() + ",";
  }
  return key + "}";
}

TEST(RemoteWriteEncode, DecodesToTheSamplesWithInstanceAndCumulativeValues) {
  auto batches = EncodeRemoteWrite(Sample(), 1'700'000'000'123, {"", "host-a"});
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].unix_ms, 1'700'000'000'123);
  rw::WriteRequest req = Decode(batches[0].body);
  std::map<std::string, double> got;
  for (const auto& ts : req.timeseries()) {
    ASSERT_EQ(ts.samples_size(), 1);
    EXPECT_EQ(ts.samples(0).timestamp(), 1'700'000'000'123);
    got[Key(ts)] = ts.samples(0).value();
  }
  std::map<std::string, double> want = {
      {"req_total{code=200,instance=host-a,}", 17},  // 7 + 10 taken by resets
      {"inflight{instance=host-a,}", -2.5},
      {"wait_seconds_bucket{instance=host-a,le=0.1,path=/a,}", 11},
      {"wait_seconds_bucket{instance=host-a,le=1.0,path=/a,}", 13},
      {"wait_seconds_bucket{instance=host-a,le=+Inf,path=/a,}", 17},
      {"wait_seconds_count{instance=host-a,path=/a,}", 17},
      {"wait_seconds_sum{instance=host-a,path=/a,}", 10.5},
      // Upper case sorts before "__name__"; the series' own instance is kept aside.
      {"jobs{Zone=z,exported_instance=theirs,instance=host-a,}", 1},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(batches[0].samples, want.size());
  // '_' sorts after upper case and before lower case.
  EXPECT_EQ(req.timeseries(0).labels(0).name(), "__name__");
  EXPECT_EQ(req.timeseries(1).labels(0).name(), "Zone");  // jobs{Zone=...}: families by name
  EXPECT_EQ(req.timeseries(1).labels(1).value(), "jobs");
  EXPECT_EQ(RemoteWriteSamples(Sample()), want.size());
}

// The labels a scrape job adds: job and instance on every series (a series' own
// job is kept as exported_job), and one metadata entry per family in the first
// request of the tick, named as the TYPE line of /metrics names it.
TEST(RemoteWriteEncode, AddsTheJobLabelAndFamilyMetadata) {
  Snapshot snap = Sample();
  snap.metrics[0].help = "Requests";
  snap.metrics[2].unit = "seconds";
  snap.metrics[3].labels.emplace_back("job", "theirs");
  auto batches = EncodeRemoteWrite(snap, 1, {"shmstatsd", "h"}, 3);
  ASSERT_EQ(batches.size(), 3u);
  std::map<std::string, double> got;
  for (const auto& b : batches) {
    rw::WriteRequest req = Decode(b.body);
    for (const auto& ts : req.timeseries()) got[Key(ts)] = ts.samples(0).value();
  }
  EXPECT_EQ(got.count("req_total{code=200,instance=h,job=shmstatsd,}"), 1u);
  EXPECT_EQ(got.count("inflight{instance=h,job=shmstatsd,}"), 1u);
  EXPECT_EQ(got.count("jobs{Zone=z,exported_instance=theirs,exported_job=theirs,instance=h,"
                      "job=shmstatsd,}"),
            1u)
      << ::testing::PrintToString(got);
  EXPECT_EQ(got.size(), 8u);
  rw::WriteRequest first = Decode(batches[0].body);
  std::map<std::string, std::string> meta;
  for (const auto& m : first.metadata()) {
    meta[m.metric_family_name()] =
        rw::MetricMetadata::MetricType_Name(m.type()) + "|" + m.help() + "|" + m.unit();
  }
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"inflight", "GAUGE||"},
                                                      {"jobs", "GAUGE||"},
                                                      {"req_total", "COUNTER|Requests|"},
                                                      {"wait_seconds", "HISTOGRAM||seconds"}}));
  EXPECT_EQ(Decode(batches[1].body).metadata_size(), 0);  // once a tick
}

// The same names, in the same order, as /metrics renders: one naming code.
TEST(RemoteWriteEncode, NamesSeriesAsTheTextFormatDoes) {
  Snapshot snap = Sample();
  std::istringstream text(common::ToText(snap, common::TextFormat::kPrometheus));
  std::vector<std::string> text_names, wire_names;
  for (std::string line; std::getline(text, line);) {
    if (!line.empty() && line[0] != '#')
      text_names.push_back(line.substr(0, line.find_first_of("{ ")));
  }
  for (const auto& b : EncodeRemoteWrite(snap, 1, {"", "i"})) {
    rw::WriteRequest req = Decode(b.body);
    for (const auto& ts : req.timeseries()) {
      for (const auto& l : ts.labels()) {
        if (l.name() == "__name__") wire_names.push_back(l.value());
      }
    }
  }
  EXPECT_EQ(wire_names, text_names);
}

TEST(RemoteWriteEncode, SplitsIntoRequestsOfAtMostMaxSamples) {
  auto batches = EncodeRemoteWrite(Sample(), 5, {"", "i"}, 3);
  ASSERT_EQ(batches.size(), 3u);  // 8 samples: 3 + 3 + 2
  size_t total = 0;
  for (const auto& b : batches) {
    EXPECT_EQ(static_cast<size_t>(Decode(b.body).timeseries_size()), b.samples);
    EXPECT_LE(b.samples, 3u);
    total += b.samples;
  }
  EXPECT_EQ(total, 8u);
}

TEST(RemoteWriteEncode, SnappyRoundTripOfLargeBodies) {
  Snapshot snap;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) {
    MetricSnapshot m;
    m.name = "series_" + std::to_string(i % 37);
    m.labels = {{"id", std::to_string(i)}};
    m.type = MetricType::kGauge;
    m.gauge = std::uniform_real_distribution<double>(-1e9, 1e9)(rng);
    snap.metrics.push_back(m);
  }
  auto batches = EncodeRemoteWrite(snap, 42, {"", "host"});
  ASSERT_EQ(batches.size(), 3u);  // 2,000 + 2,000 + 1,000
  std::map<std::string, double> want, got;
  for (const auto& m : snap.metrics)
    want[m.name + "{id=" + m.labels[0].second + ",instance=host,}"] = m.gauge;
  for (const auto& b : batches) {
    rw::WriteRequest req = Decode(b.body);
    for (const auto& ts : req.timeseries()) got[Key(ts)] = ts.samples(0).value();
  }
  EXPECT_EQ(got, want);  // every value exact (doubles go over the wire as 8 bytes)
  std::string data(1 << 20, '\0');
  for (auto& ch : data) ch = static_cast<char>(rng() % 7);  // compressible bytes
  std::string packed, unpacked;
  snappy::Compress(data.data(), data.size(), &packed);
  ASSERT_TRUE(snappy::Uncompress(packed.data(), packed.size(), &unpacked));
  EXPECT_EQ(unpacked, data);
  EXPECT_LT(packed.size(), data.size());
}

TEST(RemoteWriteUrl, ParsesHttpAndHttpsAndRejectsTheRest) {
  HttpUrl u = ParseHttpUrl("http://127.0.0.1:9090/api/v1/write");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "9090");
  EXPECT_EQ(u.target, "/api/v1/write");
  u = ParseHttpUrl("http://[::1]:8428/api/v1/write?extra_label=a");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "8428");
  EXPECT_EQ(u.target, "/api/v1/write?extra_label=a");
  u = ParseHttpUrl("http://receiver");
  EXPECT_EQ(u.port, "80");
  EXPECT_EQ(u.target, "/");
  EXPECT_FALSE(u.tls);
  u = ParseHttpUrl("https://metrics.example/api/v1/push");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.host, "metrics.example");
  EXPECT_EQ(u.port, "443");
  EXPECT_EQ(u.target, "/api/v1/push");
  for (const char* bad : {"ftp://r/api", "https://u:p@r/", "r:9090/api", "http://:9090/",
                          "http://u:p@r/", "http://r:99999/", "http://r:x/", "http://[::1/"}) {
    try {
      ParseHttpUrl(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::kInvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("http[s]://HOST"), std::string::npos) << e.what();
    }
  }
}

// One tick's snapshot: a gauge whose value is the tick number.
Snapshot Tick(int n) {
  Snapshot s;
  MetricSnapshot g;
  g.name = "tick";
  g.type = MetricType::kGauge;
  g.gauge = n;
  s.metrics.push_back(g);
  return s;
}

double Metric(const SelfMetrics& self, const std::string& name, const std::string& reason = "") {
  for (const auto& m : self.Collect()) {
    if (m.name != name || (!reason.empty() && m.labels[0].second != reason)) continue;
    return m.type == MetricType::kGauge ? m.gauge : static_cast<double>(m.counter);
  }
  return -1;
}

// A dead receiver: the queue keeps the newest samples up to its bound, drops the
// oldest (counted), and a receiver that comes back gets what was kept, in order,
// with the headers of the protocol.
TEST(RemoteWriter, DropsTheOldestBeyondItsBoundAndDeliversTheRestInOrder) {
  testing::ReservedPort reserved;  // refused until the receiver below listens on it
  int port = reserved.port();
  SelfMetrics self;
  RemoteWriteOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/write";
  options.instance = "unit";
  options.max_queue_samples = 5;
  options.min_backoff = std::chrono::milliseconds(10);
  options.max_backoff = std::chrono::milliseconds(50);
  auto writer = std::make_unique<RemoteWriter>(options, self);
  for (int i = 1; i <= 12; ++i) writer->Push(Tick(i), 1000 * i);
  ASSERT_TRUE(testing::WaitFor([&] {
    return Metric(self, "shmstatsd_remote_write_requests_failed_total", "network") >= 2;
  }));
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_samples_dropped_total", "queue_full"), 7);
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_queue_samples"), 5);
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_samples_sent_total"), 0);

  std::mutex mu;
  std::vector<double> received;
  std::vector<std::string> problems;
  httplib::Server server;
  server.Post("/api/v1/write", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    if (req.get_header_value("Content-Encoding") != "snappy" ||
        req.get_header_value("Content-Type") != "application/x-protobuf" ||
        req.get_header_value("X-Prometheus-Remote-Write-Version") != "0.1.0") {
      problems.push_back("headers");
    }
    if (req.get_header_value("Host") != "127.0.0.1:" + std::to_string(port)) {
      problems.push_back("Host: " + req.get_header_value("Host"));
    }
    rw::WriteRequest decoded = Decode(req.body);
    for (const auto& ts : decoded.timeseries()) {
      received.push_back(ts.samples(0).value());
      if (ts.samples(0).timestamp() != 1000 * static_cast<int64_t>(ts.samples(0).value())) {
        problems.push_back("timestamp");
      }
    }
    res.status = 204;
  });
  std::thread serve([&] { server.listen("127.0.0.1", port); });
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Metric(self, "shmstatsd_remote_write_samples_sent_total") == 5; }));
  writer->Push(Tick(13), 13'000);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return Metric(self, "shmstatsd_remote_write_samples_sent_total") == 6; }));
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_queue_samples"), 0);
  writer.reset();
  server.stop();
  serve.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(received, (std::vector<double>{8, 9, 10, 11, 12, 13}));
  EXPECT_TRUE(problems.empty()) << problems.front();
}

// Secrets come from files, lose their trailing newline, and are read again when
// the file changes; a bad combination or an unreadable file is refused at once.
TEST(RemoteWriteCredentials, ReadsFilesAndReadsThemAgainWhenTheyChange) {
  testing::TempDir dir;
  std::ofstream(dir / "pw") << "open sesame\n";
  Credentials basic({"user", dir / "pw", ""});
  EXPECT_EQ(basic.Authorization(), "Basic dXNlcjpvcGVuIHNlc2FtZQ==");  // user:open sesame
  std::ofstream(dir / "pw.new") << "changed";
  ASSERT_EQ(rename((dir / "pw.new").c_str(), (dir / "pw").c_str()), 0);
  EXPECT_EQ(basic.Authorization(), "Basic dXNlcjpjaGFuZ2Vk");  // user:changed
  std::ofstream(dir / "token") << "t0k3n";
  EXPECT_EQ(Credentials({"", "", dir / "token"}).Authorization(), "Bearer t0k3n");
  EXPECT_EQ(Credentials({}).Authorization(), "");
  for (CredentialFiles bad : std::vector<CredentialFiles>{{"user", "", ""},
                                                          {"", dir / "pw", ""},
                                                          {"user", dir / "pw", dir / "token"},
                                                          {"user", dir / "missing", ""},
                                                          {"a:b", dir / "pw", ""}}) {
    EXPECT_THROW(Credentials{bad}, Error) << bad.username << " " << bad.password_file;
  }
}

// A bearer token the receiver refuses (401): counted as auth, the data kept and
// retried; the token file replaced, the queued ticks go through with the new token.
TEST(RemoteWriter, RetriesARefusedTokenUntilTheFileHoldsTheRightOne) {
  std::mutex mu;
  std::vector<double> received;
  httplib::Server server;
  server.Post("/w", [&](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer new-token") {
      res.status = 401;
      res.set_content("Unauthorized", "text/plain");
      return;
    }
    std::lock_guard lock(mu);
    rw::WriteRequest decoded = Decode(req.body);
    for (const auto& ts : decoded.timeseries()) received.push_back(ts.samples(0).value());
    res.status = 204;
  });
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serve([&] { server.listen_after_bind(); });
  ASSERT_TRUE(testing::WaitFor([&] { return server.is_running(); }));
  testing::TempDir dir;
  std::ofstream(dir / "token") << "old-token\n";
  SelfMetrics self;
  RemoteWriteOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port) + "/w";
  options.instance = "unit";
  options.min_backoff = std::chrono::milliseconds(10);
  options.max_backoff = std::chrono::milliseconds(50);
  options.auth.bearer_token_file = dir / "token";
  {
    RemoteWriter writer(options, self);
    writer.Push(Tick(1), 1000);
    writer.Push(Tick(2), 2000);
    ASSERT_TRUE(testing::WaitFor(
        [&] { return Metric(self, "shmstatsd_remote_write_requests_failed_total", "auth") >= 3; }));
    EXPECT_EQ(Metric(self, "shmstatsd_remote_write_queue_samples"), 2);
    std::ofstream(dir / "token.new") << "new-token\n";
    ASSERT_EQ(rename((dir / "token.new").c_str(), (dir / "token").c_str()), 0);
    ASSERT_TRUE(testing::WaitFor(
        [&] { return Metric(self, "shmstatsd_remote_write_samples_sent_total") == 2; }));
  }
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_samples_dropped_total", "rejected"), 0);
  server.stop();
  serve.join();
  std::lock_guard lock(mu);
  EXPECT_EQ(received, (std::vector<double>{1, 2}));
}

// A receiver that rejects a request (400) does not hold up the queue: the request is
// dropped and counted, the next one goes out.
TEST(RemoteWriter, DropsWhatTheReceiverRejects) {
  std::atomic<int> calls{0};
  httplib::Server server;
  server.Post("/w", [&](const httplib::Request&, httplib::Response& res) {
    res.status = calls++ == 0 ? 400 : 200;
    res.set_content("out of order sample", "text/plain");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serve([&] { server.listen_after_bind(); });
  ASSERT_TRUE(testing::WaitFor([&] { return server.is_running(); }));
  SelfMetrics self;
  RemoteWriteOptions options;
  options.url = "http://127.0.0.1:" + std::to_string(port) + "/w";
  options.instance = "unit";
  {
    RemoteWriter writer(options, self);
    writer.Push(Tick(1), 1000);
    writer.Push(Tick(2), 2000);
    ASSERT_TRUE(testing::WaitFor(
        [&] { return Metric(self, "shmstatsd_remote_write_samples_sent_total") == 1; }));
  }
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_samples_dropped_total", "rejected"), 1);
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_requests_failed_total", "rejected"), 1);
  EXPECT_EQ(Metric(self, "shmstatsd_remote_write_requests_failed_total", "server"), 0);
  server.stop();
  serve.join();
}

}  // namespace
}  // namespace shmstats::daemon
