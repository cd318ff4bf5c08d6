// SPDX-License-Identifier: Apache-2.0
// Remote-write over TLS with basic auth into a real Prometheus 2.42 started with
// --web.config.file: a CA, a server certificate and an expired one, all made here
// with openssl, and a bcrypt password hash made with htpasswd. Every tick arrives
// with job="shmstatsd" and the shipped rules evaluate on the pushed series; a wrong
// password, an unknown CA, an expired certificate and one for another host each
// give one clear log line and a counted failure, and the data waits in the queue
// (it arrives once the password is fixed); a receiver that requires a client
// certificate gets one, and the system CA store is the default.

#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <functional>

#include "daemon_harness.h"
#include "prom_server.h"

namespace shmstats::testing {
namespace {

const char* const kUser = "pusher";
const char* const kPassword = "correct horse battery staple";

// The test's PKI in `dir`: ca.crt (signs server.crt and expired.crt, both for
// 127.0.0.1 and localhost), other-ca.crt (signs nothing we serve), and web.yml
// (TLS with server.crt, basic auth for kUser). Returns "" or what failed.
std::string MakePki(const TempDir& dir) {
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  const std::string script =
      "set -e; cd '" + dir.str() + "'; " + "openssl req -x509 " + key +
      " -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca; " + "openssl req -x509 " + key +
      " -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca; " + "openssl req " +
      key + " -keyout server.key -out server.csr -subj /CN=localhost; " +
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san; " +
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san -out server.crt; "
      // Valid until yesterday.
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days -1 "
      "-extfile san -out expired.crt; " +
      // Trusted, current, but for another host.
      "printf 'subjectAltName=DNS:elsewhere.example\\n' > san2; " +
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-extfile san2 -out elsewhere.crt; " +
      // A client certificate, for a receiver that asks for one.
      "openssl req " + key + " -keyout client.key -out client.csr -subj /CN=pusher; " +
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
      "-out client.crt; " +
      "htpasswd -nbBC 4 " + kUser + " '" + kPassword + "' | head -1 | cut -d: -f2- > hash; " +
      "printf '%s\\n' '" + kPassword + "' > password; echo ok";
  Output o = Shell(script);
  if (o.status != 0 || o.out.find("ok") == std::string::npos) return "openssl/htpasswd failed";
  std::string hash = ReadFile(dir / "hash");
  while (!hash.empty() && hash.back() == '\n') hash.pop_back();
  if (hash.rfind("$2", 0) != 0) return "no bcrypt hash: " + hash;
  std::ofstream(dir / "hash.yml") << "  " << kUser << ": '" << hash << "'\n";
  return "";
}

// Points web.yml at a certificate (Prometheus reads it again on every connection),
// and makes it require a client certificate signed by ca.crt if `client_ca`.
void ServeCertificate(const TempDir& dir, const std::string& cert, bool client_ca = false) {
  std::ofstream web(dir / "web.yml.new");
  web << "tls_server_config:\n  cert_file: " << (dir / cert)
      << "\n  key_file: " << (dir / "server.key") << "\n";
  if (client_ca) {
    web << "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " << (dir / "ca.crt")
        << "\n";
  }
  web << "basic_auth_users:\n" << ReadFile(dir / "hash.yml");
  web.close();
  rename((dir / "web.yml.new").c_str(), (dir / "web.yml").c_str());
}

PromOptions TlsReceiver(const TempDir& pki, std::vector<std::string> rule_files = {}) {
  ServeCertificate(pki, "server.crt");
  PromOptions o;
  o.web_config = pki / "web.yml";
  o.ca_file = pki / "ca.crt";
  o.user = kUser;
  o.password = kPassword;
  o.rule_files = std::move(rule_files);
  return o;
}

// A daemon pushing `seg` to `url` as `instance`, with `extra` options.
struct Pusher {
  Pusher(const std::string& seg, const std::string& url, const std::string& instance,
         const std::vector<std::string>& extra)
      : segment(seg) {
    std::vector<std::string> argv = {SHMSTATSD_PATH, "--segment",      seg,     "--state-dir",
                                     dir.str(),      "--interval",     "200ms", "--instance",
                                     instance,       "--remote-write", url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    for (auto& a : ListenAnyPort(dir / "ports")) argv.push_back(a);
    child = std::make_unique<Child>(argv, dir / "shmstatsd.log");
    port = AwaitPort(dir / "ports");
  }
  double Self(const std::string& name) const { return Scalar(Get(port, "/metrics").body, name); }
  double Failed(const std::string& reason) const {
    return Self("shmstatsd_remote_write_requests_failed_total{reason=\"" + reason + "\"}");
  }
  std::string Log() const { return child->Log(); }

  TempDir dir;
  HistorySegment segment;
  std::unique_ptr<Child> child;
  int port = 0;
};

// Every tick pushed carries shmstatsd_ticks_total = the ticks before it, so when
// every tick arrived, the points of a segment series number one more than its max.
double MissingTicks(const PromServer& prom, const std::string& instance) {
  const std::string on = "{instance=\"" + instance + "\"}";
  return prom.Value("max_over_time(shmstatsd_ticks_total" + on + "[1h]) + 1 - " +
                    "count_over_time(inflight" + on + "[1h])");
}

TEST(RemoteWriteTlsTest, EveryTickArrivesOverTlsWithAuthAndTheShippedRulesEvaluate) {
  TempDir pki;
  ASSERT_EQ(MakePki(pki), "");
  PromServer prom(
      TlsReceiver(pki, {std::string(SOURCE_DIR) + "/packaging/prometheus/shmstats.rules.yml"}));
  ASSERT_TRUE(prom.Start()) << prom.Log();
  ScopedSegmentName seg(UniqueName("rwt"));
  Pusher d(seg.str(), prom.write_url(), "rw-tls",
           {"--remote-write-ca-file", pki / "ca.crt", "--remote-write-username", kUser,
            "--remote-write-password-file", pki / "password"});
  ASSERT_NE(d.port, 0) << d.Log();
  d.segment.c.Inc(5);
  d.segment.g.Set(2.5);

  const std::string on = "{job=\"shmstatsd\",instance=\"rw-tls\"}";
  ASSERT_TRUE(WaitFor([&] { return prom.Value("req_total" + on) == 5; }, 60))
      << d.Log() << prom.Log();
  EXPECT_EQ(prom.Value("inflight" + on), 2.5);
  // What the shipped rules and dashboard select.
  EXPECT_EQ(prom.Value("shmstatsd_segment_up" + on), 1);
  EXPECT_EQ(prom.Value("up" + on), 1);
  // Ten ticks more, then not one missing (the queue is empty: all were accepted).
  const double ticks = d.Self("shmstatsd_ticks_total");
  ASSERT_TRUE(WaitFor(
      [&] {
        return prom.Value("max_over_time(shmstatsd_ticks_total" + on + "[1h])") >= ticks + 10;
      },
      60))
      << d.Log();
  EXPECT_EQ(MissingTicks(prom, "rw-tls"), 0);
  EXPECT_EQ(d.Failed("tls") + d.Failed("auth") + d.Failed("network"), 0) << d.Log();

  // Every panel of the packaged Grafana dashboard has data, its variables set as
  // an operator would pick them (its instance picker lists up{job="shmstatsd"}).
  auto dashboard = nlohmann::json::parse(
      ReadFile(std::string(SOURCE_DIR) + "/packaging/grafana/shmstats-dashboard.json"));
  std::vector<std::string> exprs, empty;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& panels) {
    for (const auto& panel : panels) {
      if (panel.contains("panels")) walk(panel["panels"]);
      for (const auto& target : panel.value("targets", nlohmann::json::array())) {
        if (target.contains("expr")) exprs.push_back(target["expr"]);
      }
    }
  };
  walk(dashboard["panels"]);
  for (std::string expr : exprs) {
    for (auto [var, value] :
         std::vector<std::pair<std::string, std::string>>{{"$__rate_interval", "1m"},
                                                          {"$instance", "rw-tls"},
                                                          {"$counter", "req_total"},
                                                          {"${histogram}", "wait_seconds"}}) {
      for (size_t at; (at = expr.find(var)) != std::string::npos;)
        expr.replace(at, var.size(), value);
    }
    auto result = prom.Query(expr);
    if (!result.is_array() || result.empty()) empty.push_back(expr);
  }
  EXPECT_GE(exprs.size(), 10u);
  EXPECT_TRUE(empty.empty()) << ::testing::PrintToString(empty);

  // The recording rules evaluate on the pushed series (with their job and instance)...
  EXPECT_TRUE(WaitFor(
      [&] {
        double ratio = prom.Value("instance:shmstats_segment_metrics:usage_ratio" + on);
        return ratio > 0 && ratio <= 1;
      },
      30))
      << prom.Log();
  EXPECT_TRUE(WaitFor(
      [&] { return prom.Value("instance:shmstatsd_tick_duration_seconds:p99_5m" + on) > 0; }, 30))
      << prom.Log();
  // ...and every rule of the file, alerts included, evaluates without error.
  std::string body, push_stopped;
  size_t evaluated = 0, healthy = 0;
  EXPECT_TRUE(WaitFor(
      [&] {
        auto [status, text] = prom.Fetch("/api/v1/rules");
        body = text;
        auto doc = nlohmann::json::parse(text, nullptr, false);
        if (status != 200 || doc.is_discarded()) return false;
        evaluated = healthy = 0;
        for (const auto& group : doc["data"]["groups"]) {
          for (const auto& rule : group["rules"]) {
            ++evaluated;
            healthy += rule["health"] == "ok";
            if (rule.value("name", "") == "ShmstatsdPushStopped") push_stopped = rule["query"];
          }
        }
        return evaluated >= 10 && healthy == evaluated;
      },
      30))
      << body;

  // A pushing daemon that dies leaves no up == 0 behind: the shipped ShmstatsdPushStopped
  // is silent while it pushes and fires for its instance once nothing came for 5
  // minutes (evaluated at a time 6 minutes ahead rather than waited for).
  ASSERT_FALSE(push_stopped.empty()) << body;
  auto silent = prom.Query(push_stopped);
  ASSERT_TRUE(silent.is_array()) << push_stopped;
  EXPECT_TRUE(silent.empty()) << silent.dump();
  EXPECT_EQ(d.child->Stop(), 0) << d.Log();
  auto fired = prom.Query(push_stopped, static_cast<double>(::time(nullptr) + 6 * 60));
  ASSERT_TRUE(fired.is_array()) << push_stopped;
  ASSERT_EQ(fired.size(), 1u) << fired.dump();
  EXPECT_EQ(fired[0]["metric"].value("instance", ""), "rw-tls") << fired.dump();
  EXPECT_EQ(fired[0]["metric"].value("job", ""), "shmstatsd") << fired.dump();
}

TEST(RemoteWriteTlsTest, WrongPasswordUnknownCaAndExpiredCertificateAreLoggedCountedAndKept) {
  TempDir pki;
  ASSERT_EQ(MakePki(pki), "");
  PromServer prom(TlsReceiver(pki));
  ASSERT_TRUE(prom.Start()) << prom.Log();
  std::ofstream(pki / "wrong") << "not the password\n";
  ScopedSegmentName seg_auth(UniqueName("rwa")), seg_ca(UniqueName("rwc"));
  Pusher auth(seg_auth.str(), prom.write_url(), "rw-auth",
              {"--remote-write-ca-file", pki / "ca.crt", "--remote-write-username", kUser,
               "--remote-write-password-file", pki / "wrong"});
  Pusher ca(seg_ca.str(), prom.write_url(), "rw-ca",
            {"--remote-write-ca-file", pki / "other-ca.crt", "--remote-write-username", kUser,
             "--remote-write-password-file", pki / "password"});
  ASSERT_NE(auth.port, 0) << auth.Log();
  ASSERT_NE(ca.port, 0) << ca.Log();

  // A wrong password: 401, one clear line, counted, and the ticks stay queued.
  ASSERT_TRUE(WaitFor([&] { return auth.Failed("auth") >= 3; }, 60)) << auth.Log();
  EXPECT_NE(auth.Log().find("refused our credentials with HTTP 401"), std::string::npos)
      << auth.Log();
  EXPECT_EQ(auth.Self("shmstatsd_remote_write_samples_sent_total"), 0);
  EXPECT_GT(auth.Self("shmstatsd_remote_write_queue_samples"), 0);
  EXPECT_EQ(auth.Failed("rejected"), 0);
  // An unknown CA: the handshake fails, said plainly.
  ASSERT_TRUE(WaitFor([&] { return ca.Failed("tls") >= 1; }, 60)) << ca.Log();
  EXPECT_NE(ca.Log().find("certificate is not accepted: unable to get local issuer certificate"),
            std::string::npos)
      << ca.Log();
  EXPECT_EQ(ca.Self("shmstatsd_remote_write_samples_sent_total"), 0);
  // The line is rate-limited: many failed attempts, one line per minute.
  ASSERT_TRUE(WaitFor([&] { return ca.Failed("tls") >= 3; }, 60)) << ca.Log();
  std::string log = ca.Log();
  size_t lines = 0;
  for (size_t at = 0; (at = log.find("unable to get local issuer", at)) != std::string::npos;
       ++at) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_EQ(ca.child->Stop(), 0);

  // The password file is fixed: read again, and every queued tick arrives.
  std::ofstream(pki / "wrong.new") << kPassword << "\n";
  rename((pki / "wrong.new").c_str(), (pki / "wrong").c_str());
  ASSERT_TRUE(WaitFor([&] { return auth.Self("shmstatsd_remote_write_queue_samples") == 0; }, 60))
      << auth.Log();
  EXPECT_TRUE(WaitFor([&] { return MissingTicks(prom, "rw-auth") == 0; }, 10))
      << MissingTicks(prom, "rw-auth") << auth.Log();
  EXPECT_EQ(auth.Self("shmstatsd_remote_write_samples_dropped_total{reason=\"queue_full\"}"), 0);
  EXPECT_NE(auth.Log().find("accepts samples again"), std::string::npos) << auth.Log();
  EXPECT_EQ(auth.child->Stop(), 0);

  // The receiver now serves an expired certificate (signed by the trusted CA).
  ServeCertificate(pki, "expired.crt");
  ScopedSegmentName seg_exp(UniqueName("rwe"));
  Pusher expired(seg_exp.str(), prom.write_url(), "rw-expired",
                 {"--remote-write-ca-file", pki / "ca.crt", "--remote-write-username", kUser,
                  "--remote-write-password-file", pki / "password"});
  ASSERT_NE(expired.port, 0) << expired.Log();
  ASSERT_TRUE(WaitFor([&] { return expired.Failed("tls") >= 1; }, 60)) << expired.Log();
  EXPECT_NE(expired.Log().find("certificate is not accepted: certificate has expired"),
            std::string::npos)
      << expired.Log();
  EXPECT_EQ(expired.Self("shmstatsd_remote_write_samples_sent_total"), 0);
  EXPECT_GT(expired.Self("shmstatsd_remote_write_queue_samples"), 0);
  EXPECT_EQ(expired.child->Stop(), 0);
  // A certificate for another host: refused, said plainly.
  ServeCertificate(pki, "elsewhere.crt");
  ScopedSegmentName seg_name(UniqueName("rwh"));
  Pusher elsewhere(seg_name.str(), prom.write_url(), "rw-elsewhere",
                   {"--remote-write-ca-file", pki / "ca.crt", "--remote-write-username", kUser,
                    "--remote-write-password-file", pki / "password"});
  ASSERT_NE(elsewhere.port, 0) << elsewhere.Log();
  ASSERT_TRUE(WaitFor([&] { return elsewhere.Failed("tls") >= 1; }, 60)) << elsewhere.Log();
  EXPECT_NE(elsewhere.Log().find("certificate is not accepted: IP address mismatch"),
            std::string::npos)
      << elsewhere.Log();
  EXPECT_EQ(elsewhere.child->Stop(), 0);
  // Nothing of the failing daemons was ever stored.
  EXPECT_TRUE(prom.Query("inflight{instance=~\"rw-ca|rw-expired|rw-elsewhere\"}").empty());
}

// A receiver that requires a client certificate: refused without one (counted, the
// data kept), accepted with --remote-write-cert-file/--remote-write-key-file. With
// no --remote-write-ca-file the system's CA store is used: OpenSSL's default
// paths, which SSL_CERT_FILE points at the test CA here. The URL names the host
// (localhost), so the certificate is checked for that name.
TEST(RemoteWriteTlsTest, AClientCertificateAndTheSystemCaStore) {
  TempDir pki;
  ASSERT_EQ(MakePki(pki), "");
  ServeCertificate(pki, "server.crt", /*client_ca=*/true);
  PromServer prom({pki / "web.yml",
                   pki / "ca.crt",
                   kUser,
                   kPassword,
                   {},
                   pki / "client.crt",
                   pki / "client.key",
                   {}});
  ASSERT_TRUE(prom.Start()) << prom.Log();
  setenv("SSL_CERT_FILE", (pki / "ca.crt").c_str(), 1);  // inherited by the daemons
  ScopedSegmentName seg_none(UniqueName("rwn")), seg_cert(UniqueName("rwk"));
  const std::vector<std::string> auth = {"--remote-write-username", kUser,
                                         "--remote-write-password-file", pki / "password"};
  Pusher none(seg_none.str(), prom.write_url(), "rw-nocert", auth);
  std::vector<std::string> with_cert = auth;
  for (const char* a :
       {"--remote-write-cert-file", "client.crt", "--remote-write-key-file", "client.key"}) {
    with_cert.push_back(a[0] == '-' ? std::string(a) : pki / a);
  }
  // By name: the certificate must name "localhost", which also goes as SNI.
  Pusher cert(seg_cert.str(), "https://localhost:" + std::to_string(prom.port()) + "/api/v1/write",
              "rw-cert", with_cert);
  unsetenv("SSL_CERT_FILE");
  ASSERT_NE(none.port, 0) << none.Log();
  ASSERT_NE(cert.port, 0) << cert.Log();
  cert.segment.g.Set(9);
  const std::string on = "{job=\"shmstatsd\",instance=\"rw-cert\"}";
  EXPECT_TRUE(WaitFor([&] { return prom.Value("inflight" + on) == 9; }, 60))
      << cert.Log() << prom.Log();
  EXPECT_EQ(cert.Failed("tls") + cert.Failed("network"), 0) << cert.Log();
  // Without one: refused in the handshake (TLS 1.2) or with the reply (TLS 1.3: the
  // server's alert comes after the handshake), counted as tls, never sent.
  EXPECT_TRUE(WaitFor([&] { return none.Failed("tls") >= 2; }, 60)) << none.Log();
  EXPECT_EQ(none.Self("shmstatsd_remote_write_samples_sent_total"), 0);
  EXPECT_GT(none.Self("shmstatsd_remote_write_queue_samples"), 0);
  const std::string log = none.Log();
  EXPECT_TRUE(log.find("TLS: sslv3 alert bad certificate") != std::string::npos ||
              log.find("certificate required") != std::string::npos)
      << log;
  EXPECT_EQ(cert.child->Stop(), 0);
  EXPECT_EQ(none.child->Stop(), 0);
}

}  // namespace
}  // namespace shmstats::testing
