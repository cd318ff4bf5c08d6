// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd's settings: command-line flags, optionally read from a config file
// (CLI11's INI/TOML form, `--config FILE`; flags on the command line win).

#include <chrono>
#include <cstdint>
#include <string>

#include "daemon/feed/spool.h"
#include "daemon/push/credentials.h"
#include "daemon/push/http_client.h"
#include "history/store.h"
#include "shmstats/segment.h"

namespace shmstats::daemon {

struct Config {
  std::string segment;           // default $SHMSTATS_SEGMENT or "shmstats"
  int64_t interval_ms = 60'000;  // --interval 60s
  std::string state_dir = "/var/lib/shmstats";
  std::string history_db;  // default <state_dir>/history.db
  std::string stats_json;  // default <state_dir>/stats.json; "none" disables
  std::string textfile;    // node_exporter textfile-collector file; empty: off
  std::string listen = "127.0.0.1:9477";
  std::string listen_host;  // parsed from listen
  int listen_port = 9477;   // 0: the kernel chooses (see port_file)
  // --port-file: once listening, the ports got are written here ("http PORT",
  // "statsd PORT"), atomically, before READY=1; removed at exit. Empty: off.
  std::string port_file;
  history::Retention retention;
  // --history-timeout: a PostgreSQL connection or write not answered by then is
  // abandoned (its tick is spooled); --history-stuck-after: a write running longer
  // makes /healthz say "stuck".
  int64_t history_timeout_ms = history::kDefaultWriteTimeoutMs;
  int64_t history_stuck_ms = 5'000;
  bool enable_reset = false;
  std::string reset_token_file;
  std::string reset_token;               // read from reset_token_file at start
  std::string statsd;                    // statsd/DogStatsD UDP HOST:PORT; empty: off
  std::string statsd_socket;             // statsd/DogStatsD Unix datagram socket path; empty: off
  size_t statsd_cache_bytes = 16 << 20;  // --statsd-cache-bytes: the series caches' budget
  // --statsd-ttl: statsd series idle this long are deleted (0: never, as
  // statsd_exporter's default); --statsd-family-limit: series per statsd family
  // before new tag sets go to its overflow series (OpenTelemetry's default, 2000).
  uint32_t statsd_ttl_seconds = 0;
  uint32_t statsd_family_limit = 2000;
  // --create-segment: a missing segment is created with these (--segment-max-metrics,
  // --segment-max-slots, --segment-mode, --segment-group) instead of waited for.
  bool create_segment = false;
  SegmentOptions segment_options;
  std::string dbus = "off";  // --dbus off|system|session: the D-Bus API (dbus/api.h)
  std::string instance;      // --instance, default the host name: stored with each series
  SpoolLimits spool;         // --spool-max-ticks (0: no spool), --spool-max-bytes
  std::string remote_write;  // --remote-write URL (remote_write.h); empty: off
  size_t remote_write_queue = 1'000'000;       // --remote-write-queue: samples held for retry
  std::string remote_write_job = "shmstatsd";  // --remote-write-job: the job label; "": none
  TlsOptions remote_write_tls;                 // --remote-write-{ca,cert,key}-file
  // --remote-write-username + --remote-write-password-file, or
  // --remote-write-bearer-token-file
  CredentialFiles remote_write_auth;
  bool remote_write_classic_histograms = false;  // --remote-write-classic-histograms
};

// Parses argv into `config`. Returns -1 to go on, or the exit status to exit with
// (0 after --help/--version, non-zero for a usage error, already printed).
int ParseConfig(int argc, char** argv, Config& config);

// "250ms", "1s", "90s", "5m", "2h", "14d", "1w" to milliseconds; throws
// shmstats::Error(kInvalidArgument) otherwise.
int64_t ParseDuration(const std::string& text);

}  // namespace shmstats::daemon
