// SPDX-License-Identifier: Apache-2.0
#pragma once

// shmstatsd's statsd / DogStatsD ingestion: one thread per socket (UDP and/or Unix
// datagram) blocked in recvmmsg between batches, so a datagram costs one system
// call at most and an idle socket none. Each thread parses each line
// (statsd/parser.h) and records it into the segment, which it opens read-write
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
// A series seen before costs a hash lookup on the raw name|type|tags bytes (in the
// receiving thread's own cache) and the atomic operation: no allocation. The caches
// hold at most `cache_bytes` together (--statsd-cache-bytes, split between the
// sockets); past it a cache starts over, so names a client invents cannot grow the
// daemon beyond it. Lines that cannot be
// recorded are counted per Result and dropped; nothing a client sends stops the listener.
//
// Thread-safety: the constructor and Stop() from the owning thread, Run() on its own
// thread (it starts one more per extra socket), Collect() and lines() from any
// thread; Ingest() only while Run() is not running.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/statsd/parser.h"
#include "shmstats/segment.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

inline constexpr ExponentialBuckets kStatsdBuckets{.min = 1e-6, .max = 1e6, .schema = 3};

class StatsdListener {
 public:
  // udp: "HOST:PORT" (port 0: the kernel chooses, see udp_port()) or empty; unix_path: a socket
  // path (replaced if it exists) or empty. Throws shmstats::Error(kInvalidArgument/kSystem) if a
  // socket cannot be bound, naming the address and the cause.
  StatsdListener(std::string segment, const std::string& udp, const std::string& unix_path,
                 size_t cache_bytes = kDefaultCacheBytes);
  static constexpr size_t kDefaultCacheBytes = 16 << 20;
  ~StatsdListener();

  // What the series this listener registers carry (MetricSpec::ttl_seconds and
  // family_limit). Call before Run().
  void SetSeriesOptions(uint32_t ttl_seconds, uint32_t family_limit) {
    ttl_seconds_ = ttl_seconds;
    family_limit_ = family_limit;
  }

  // Reads until Stop(); returns when every socket's thread has stopped.
  void Run();
  // Wakes the receiving threads (shutdown of the sockets' read side); may come
  // before Run().
  void Stop();

  // Records every line of one datagram (what Run does with each one).
  void Ingest(std::string_view datagram);

  // shmstatsd_statsd_lines_total{result} and shmstatsd_statsd_datagrams_total.
  void Collect(std::vector<MetricSnapshot>& out) const;

  // The UDP port listened on (the kernel's choice for port 0), or 0 without UDP.
  int udp_port() const { return udp_port_; }

  uint64_t lines(statsd::Result r) const {
    return counts_[static_cast<int>(r)].load(std::memory_order_relaxed);
  }

 private:
  class Receiver;  // one socket's segment handle and series cache (statsd/listener.cc)

  void Receive(size_t socket);
  void Count(statsd::Result r, uint64_t n = 1) {
    counts_[static_cast<int>(r)].fetch_add(n, std::memory_order_relaxed);
  }

  const std::string segment_name_;
  std::vector<int> fds_;
  std::vector<std::unique_ptr<Receiver>> receivers_;  // one per socket, at least one
  std::string unix_path_;                             // removed again by the destructor
  int udp_port_ = 0;
  uint32_t ttl_seconds_ = 0;
  uint32_t family_limit_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> counts_[statsd::kResultCount] = {};
  std::atomic<uint64_t> datagrams_{0};
};

}  // namespace shmstats::daemon
