// SPDX-License-Identifier: Apache-2.0
#include "daemon/config.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/segment_options.h"
#include "daemon/push/http_client.h"
#include "daemon/systemd/journal.h"
#include "shmstats/error.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {
namespace {

// CLI11 validator form of ParseDuration: returns an error message or "".
std::string CheckDuration(std::string& text) {
  try {
    ParseDuration(text);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

void ParseListen(Config& c) {
  auto colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid --listen '{}': use HOST:PORT, e.g. 127.0.0.1:9477", c.listen));
  }
  c.listen_host = c.listen.substr(0, colon);
  if (c.listen_host.size() > 2 && c.listen_host.front() == '[' && c.listen_host.back() == ']') {
    c.listen_host = c.listen_host.substr(1, c.listen_host.size() - 2);
  }
  std::string port = c.listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    throw Error(Errc::kInvalidArgument, fmt::format("invalid port in --listen '{}'", c.listen));
  }
  c.listen_port = std::stoi(port);
}

std::string ReadToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error(Errc::kInvalidArgument, fmt::format("cannot read --reset-token-file {}", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("the token in {} is shorter than 16 characters", path));
  }
  return token;
}

}  // namespace

int64_t ParseDuration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  int64_t scale = unit == "ms"  ? 1
                  : unit == "s" ? 1000
                  : unit == "m" ? 60'000
                  : unit == "h" ? 3'600'000
                  : unit == "d" ? 86'400'000
                  : unit == "w" ? 604'800'000
                                : 0;
  if (digits == 0 || digits > 9 || scale == 0) {
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid duration '{}': use a number and a unit (ms, s, m, h, d, w), "
                            "e.g. 60s or 14d",
                            text));
  }
  return std::stoll(text.substr(0, digits)) * scale;
}

std::string DefaultInstance() {
  char host[256] = {};
  return gethostname(host, sizeof(host) - 1) == 0 && host[0] ? host : "localhost";
}

int ParseConfig(int argc, char** argv, Config& c) {
  const char* env = std::getenv("SHMSTATS_SEGMENT");
  c.segment = env && *env ? env : "shmstats";
  std::string interval = "60s", raw = "14d", rollup = "400d";
  std::string history_timeout = "10s", history_stuck = "5s";
  uint32_t max_metrics = SegmentOptions{}.max_metrics, max_slots = SegmentOptions{}.max_slots;
  std::string segment_mode = "0640", segment_group;
  std::string statsd_ttl = "0";
  uint32_t segment_family_limit = 0;

  CLI::App app{
      "shmstatsd: snapshots a shmstats segment every interval into a SQLite history, "
      "stats.json and Prometheus /metrics"};
  app.set_version_flag("--version", std::string(SHMSTATS_VERSION));
  app.set_config("--config", "", "read options from this file (INI/TOML: key = value)");
  app.allow_config_extras(CLI::config_extras_mode::error);  // a misspelt key is an error
  app.add_option("--segment", c.segment, "segment name in /dev/shm ($SHMSTATS_SEGMENT)")
      ->capture_default_str();
  app.add_option("--interval", interval, "collection interval, e.g. 60s, 1s")
      ->capture_default_str()
      ->check(CLI::Validator(CheckDuration, "DURATION"));
  app.add_option("--state-dir", c.state_dir, "directory of history.db and stats.json")
      ->capture_default_str();
  app.add_option("--history-db", c.history_db,
                 "history database, or a postgresql:// URL (default STATE_DIR/history.db)");
  app.add_option("--history-timeout", history_timeout,
                 "a PostgreSQL connection or tick write not answered by then is abandoned and "
                 "the tick spooled")
      ->capture_default_str()
      ->check(CLI::Validator(CheckDuration, "DURATION"));
  app.add_option("--history-stuck-after", history_stuck,
                 "/healthz says \"stuck\" (503) while a history write runs longer than this")
      ->capture_default_str()
      ->check(CLI::Validator(CheckDuration, "DURATION"));
  app.add_option("--stats-json", c.stats_json,
                 "stats.json path (default STATE_DIR/stats.json; 'none' disables)");
  app.add_option("--textfile", c.textfile,
                 "also write a node_exporter textfile-collector file (*.prom)");
  app.add_option("--listen", c.listen,
                 "HTTP address HOST:PORT (loopback by default); port 0: any free port")
      ->capture_default_str();
  app.add_option("--port-file", c.port_file,
                 "once listening, write the ports got to this file (lines 'http PORT' and "
                 "'statsd PORT'), before READY=1; for --listen and --statsd with port 0");
  app.add_option("--retention-raw", raw, "keep per-interval rows this long")
      ->capture_default_str()
      ->check(CLI::Validator(CheckDuration, "DURATION"));
  app.add_option("--retention-rollup", rollup, "keep hourly rollups this long")
      ->capture_default_str()
      ->check(CLI::Validator(CheckDuration, "DURATION"));
  app.add_option("--instance", c.instance,
                 "this daemon's instance name, stored with its series (default: the host name)");
  app.add_option("--spool-max-ticks", c.spool.max_ticks,
                 "ticks the history store has not taken are spooled in STATE_DIR/spool, at most "
                 "this many (the oldest are dropped); 0: kept in memory only")
      ->capture_default_str();
  app.add_option("--spool-max-bytes", c.spool.max_bytes,
                 "the spool's bound in bytes (past it the oldest ticks are dropped)")
      ->capture_default_str();
  app.add_flag("--enable-reset", c.enable_reset, "serve POST /reset (needs --reset-token-file)");
  app.add_option("--reset-token-file", c.reset_token_file,
                 "file holding the bearer token that POST /reset requires");
  app.add_option("--statsd", c.statsd,
                 "receive statsd/DogStatsD lines on this UDP HOST:PORT, e.g. 127.0.0.1:8125 "
                 "(off by default; port 0: any free port)");
  app.add_option(
      "--statsd-socket", c.statsd_socket,
      "receive statsd/DogStatsD lines on this Unix datagram socket path (off by default; mode "
      "0660: whoever may write it may record, so its group says who)");
  app.add_option("--statsd-cache-bytes", c.statsd_cache_bytes,
                 "memory for statsd's series caches (names seen, by socket); past it a cache "
                 "starts over")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1} << 16, size_t{1} << 34));
  app.add_option("--statsd-ttl", statsd_ttl,
                 "delete a series the statsd door created once its value has not changed for "
                 "this long, e.g. 5m (0: never)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) { return v == "0" ? std::string() : CheckDuration(v); }, "DURATION"));
  app.add_option("--statsd-family-limit", c.statsd_family_limit,
                 "series a statsd metric name may have; past it new tag sets record into its "
                 "series tagged otel_metric_overflow=\"true\" (0: no limit)")
      ->capture_default_str();
  app.add_flag("--create-segment", c.create_segment,
               "create the segment when it is missing (else wait for a producer to)");
  app.add_option("--segment-max-metrics", max_metrics, "capacity of a created segment: series")
      ->capture_default_str();
  app.add_option("--segment-max-slots", max_slots, "capacity of a created segment: value slots")
      ->capture_default_str();
  app.add_option("--segment-mode", segment_mode, "octal mode of a created segment")
      ->capture_default_str();
  app.add_option("--segment-family-limit", segment_family_limit,
                 "series per family of a created segment before new label sets go to the "
                 "family's overflow series (0: no limit)")
      ->capture_default_str();
  app.add_option("--segment-group", segment_group,
                 "group (name or id) of a created segment (default: the daemon's)");
  app.add_option("--dbus", c.dbus, "serve the D-Bus API org.shmstats.Stats1 on this bus")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "system", "session"}));
  app.add_option("--remote-write", c.remote_write,
                 "push every tick to this Prometheus remote-write URL, e.g. "
                 "https://metrics.example.com/api/v1/write (http:// or https://; off by default)");
  app.add_option("--remote-write-queue", c.remote_write_queue,
                 "samples kept in memory for remote-write retries; beyond, the oldest are dropped")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--remote-write-job", c.remote_write_job,
                 "the job label of every pushed series, as a scrape job's name gives it (the "
                 "shipped rules and dashboard expect shmstatsd; empty: no job label)")
      ->capture_default_str();
  app.add_option("--remote-write-ca-file", c.remote_write_tls.ca_file,
                 "PEM file of the CAs that may sign the receiver's certificate (default: the "
                 "system's CA store)");
  app.add_option("--remote-write-cert-file", c.remote_write_tls.cert_file,
                 "PEM client certificate for receivers that ask for one (with "
                 "--remote-write-key-file)");
  app.add_option("--remote-write-key-file", c.remote_write_tls.key_file,
                 "PEM private key of --remote-write-cert-file");
  app.add_option("--remote-write-username", c.remote_write_auth.username,
                 "HTTP basic auth user name (with --remote-write-password-file)");
  app.add_option("--remote-write-password-file", c.remote_write_auth.password_file,
                 "file holding the basic auth password (read again when it changes)");
  app.add_option("--remote-write-bearer-token-file", c.remote_write_auth.bearer_token_file,
                 "file holding a bearer token sent as 'Authorization: Bearer' (read again when "
                 "it changes)");
  app.add_flag("--remote-write-classic-histograms", c.remote_write_classic_histograms,
               "remote-write exponential histograms as classic _bucket/_count/_sum series "
               "(for receivers without native histograms) instead of native histograms");
  try {
    app.parse(argc, argv);
    c.segment_options =
        common::ParseSegmentOptions(max_metrics, max_slots, segment_mode, segment_group);
    c.segment_options.family_limit = segment_family_limit;
    if (statsd_ttl != "0") {
      const int64_t ttl_ms = ParseDuration(statsd_ttl);
      if (ttl_ms < 1000 || ttl_ms / 1000 > UINT32_MAX)
        throw Error(Errc::kInvalidArgument, "--statsd-ttl must be 0 or at least 1s");
      c.statsd_ttl_seconds = static_cast<uint32_t>(ttl_ms / 1000);
    }
    Segment::ValidateName(c.segment);
    c.interval_ms = ParseDuration(interval);
    if (c.interval_ms < 100) throw Error(Errc::kInvalidArgument, "--interval must be >= 100ms");
    c.history_timeout_ms = ParseDuration(history_timeout);
    c.history_stuck_ms = ParseDuration(history_stuck);
    if (c.history_timeout_ms < 100) {
      throw Error(Errc::kInvalidArgument, "--history-timeout must be >= 100ms");
    }
    c.retention.raw_ms = ParseDuration(raw);
    c.retention.rollup_ms = ParseDuration(rollup);
    if (c.retention.raw_ms < c.interval_ms) {
      throw Error(Errc::kInvalidArgument, "--retention-raw must be at least one --interval");
    }
    if (c.retention.rollup_ms < 3'600'000) {
      throw Error(Errc::kInvalidArgument, "--retention-rollup must be at least 1h");
    }
    if (c.history_db.empty()) c.history_db = c.state_dir + "/history.db";
    if (c.instance.empty()) c.instance = DefaultInstance();
    // A bad URL, TLS file or credential file is a usage error, found at start.
    if (!c.remote_write.empty()) {
      HttpClient check(ParseHttpUrl(c.remote_write), c.remote_write_tls);
      Credentials read(c.remote_write_auth);
    } else if (c.remote_write_tls.any() || c.remote_write_auth.any()) {
      throw Error(Errc::kInvalidArgument,
                  "the remote-write TLS and auth options need --remote-write");
    }
    if (c.stats_json.empty()) c.stats_json = c.state_dir + "/stats.json";
    if (c.stats_json == "none") c.stats_json.clear();
    ParseListen(c);
    if (c.enable_reset) {
      if (c.reset_token_file.empty()) {
        throw Error(Errc::kInvalidArgument, "--enable-reset needs --reset-token-file");
      }
      c.reset_token = ReadToken(c.reset_token_file);
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, and the documented usage status (CLI11's own codes are not).
    fmt::print(stderr, "{}shmstatsd: {}: see shmstatsd --help\n", JournalPrefix("error"), e.what());
    return 2;
  } catch (const Error& e) {
    fmt::print(stderr, "{}shmstatsd: {}\n", JournalPrefix("error"), e.what());
    return 2;
  }
  return -1;
}

}  // namespace shmstats::daemon
