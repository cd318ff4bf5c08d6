#pragma once

// shmstatsd's statsd / DogStatsD ingestion: a thread that reads datagrams from a UDP
// socket and/or a Unix datagram socket with recvmmsg, parses each line
// (statsd_parser.h) and records it into the segment, which it opens read-write
// (creating it with the default capacity if it does not exist yet).
//
// Mapping (statsd_exporter's defaults; README "statsd and DogStatsD"):
//   name      EscapeName: [^a-zA-Z0-9_] -> '_', a leading digit gets '_'
//   c         counter, value / sample rate; fractions carried over to the next line
//   g         gauge set; "+N" / "-N" add to it
//   ms        histogram, value / 1000 (seconds), unit "seconds"
//   h, d      histogram, value as sent
//   tags      labels, keys escaped like names; bare keys dropped
// Histograms have exponential buckets (kStatsdBuckets). A timer or histogram line
// with @rate is observed round(1/rate) times (at most 1000).
//
// A series seen before costs a hash lookup on the raw name|type|tags bytes and the
// atomic operation: no allocation. Lines that cannot be recorded are counted per
// Result and dropped; nothing a client sends stops the listener.
//
// Thread-safety: the constructor and Stop() from the owning thread, Run() on its own
// thread, Collect() from any thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shmstats/segment.h"
#include "shmstats/snapshot.h"
#include "statsd_parser.h"

namespace shmstats::daemon {

inline constexpr ExponentialBuckets kStatsdBuckets{.min = 1e-6, .max = 1e6, .precision_bits = 3};

class StatsdListener {
 public:
  // udp: "HOST:PORT" or empty; unix_path: a socket path (replaced if it exists) or
  // empty. Throws shmstats::Error(kInvalidArgument/kSystem) if a socket cannot be
  // bound, naming the address and the cause.
  StatsdListener(std::string segment, const std::string& udp, const std::string& unix_path);
  ~StatsdListener();

  // Reads until Stop().
  void Run();
  void Stop();

  // Records every line of one datagram (what Run does with each one).
  void Ingest(std::string_view datagram);

  // shmstatsd_statsd_lines_total{result} and shmstatsd_statsd_datagrams_total.
  void Collect(std::vector<MetricSnapshot>& out) const;

  uint64_t lines(statsd::Result r) const {
    return counts_[static_cast<int>(r)].load(std::memory_order_relaxed);
  }

 private:
  struct Series {
    Counter counter;
    Gauge gauge;
    Histogram histogram;
    double carry = 0;  // a counter's fraction not yet recorded
    statsd::Result refusal = statsd::Result::kOk;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  statsd::Result Record(const statsd::Line& line);
  Series& Find(const statsd::Line& line);
  Series Register(const statsd::Line& line);
  bool Attach();
  void Count(statsd::Result r, uint64_t n = 1) {
    counts_[static_cast<int>(r)].fetch_add(n, std::memory_order_relaxed);
  }

  const std::string segment_name_;
  std::optional<Segment> segment_;
  int64_t last_attach_ms_ = INT64_MIN / 2;
  std::string key_;  // reused: no allocation once it has grown
  std::unordered_map<std::string, Series, Hash, std::equal_to<>> series_;
  std::vector<int> fds_;
  std::string unix_path_;  // removed again by the destructor
  int stop_fd_ = -1;
  std::atomic<uint64_t> counts_[statsd::kResultCount] = {};
  std::atomic<uint64_t> datagrams_{0};
  uint64_t refused_series_[statsd::kResultCount] = {};  // for logging, Run's thread only
};

}  // namespace shmstats::daemon
