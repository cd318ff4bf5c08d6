// SPDX-License-Identifier: Apache-2.0
#pragma once

// Prometheus remote-write (--remote-write URL): every tick's snapshot is pushed to
// a receiver (Prometheus with --web.enable-remote-write-receiver, Mimir, Thanos
// Receive, VictoriaMetrics...) with the remote-write 1.0 protocol, encoded as
// push/encode.h says, on this object's own thread: a slow or dead receiver
// never delays the collection loop or /metrics.
//
// https:// URLs go over TLS (push/http_client.h); basic auth or a bearer token
// come from files (push/credentials.h). Every series carries job and instance
// labels, and each tick's families their metadata (push/encode.h).
//
// Delivery: requests go out in tick order, one at a time. A request that fails to
// connect, fails its TLS handshake (untrusted or expired certificate), times out
// (10 s), or gets 5xx, 429, 401 or 403 is retried with exponential backoff (100 ms
// doubling to 5 s, +-25% jitter) until it is accepted: a wrong password or
// certificate is fixed by its operator, and the queued data then arrives (the
// credential files are read again when they change). One the receiver rejects with
// any other status is dropped, as the receiver would reject it again.
// Meanwhile ticks queue in memory, up to `max_queue_samples` samples: beyond, the
// OLDEST queued samples are dropped (drop-oldest: after an outage the newest data
// is the most useful, and the queue's memory stays bounded). At exit the queue is
// flushed for at most 1 s more (a request already under way may take its 10 s);
// what is left is logged and lost.
//
// Its own metrics, added to SelfMetrics:
//   shmstatsd_remote_write_samples_sent_total                  counter
//   shmstatsd_remote_write_requests_failed_total{reason=network|tls|auth|server|rejected}
//                                                              counter (failed attempts)
//   shmstatsd_remote_write_samples_dropped_total{reason=queue_full|rejected}  counter
//   shmstatsd_remote_write_queue_samples                       gauge
//
// Each failed attempt is counted; the first of each reason is logged at once with
// what to check, then at most once a minute per reason (LogLimited).
//
// Thread-safety: Push from one thread (the collector's); metrics from any.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/push/credentials.h"
#include "daemon/push/encode.h"
#include "daemon/push/http_client.h"
#include "daemon/self_metrics.h"
#include "shmstats/snapshot.h"

namespace shmstats::daemon {

struct RemoteWriteOptions {
  std::string url;
  std::string instance;
  size_t max_queue_samples = 1'000'000;
  bool classic_histograms = false;  // exponential histograms as classic buckets (encode.h)
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds flush_at_exit{1'000};  // short: SIGTERM must stop the daemon soon
  std::string job = "shmstatsd";                   // the job label; empty: none
  TlsOptions tls;
  CredentialFiles auth;
};

// Adds the gauge up = 1 to a tick's snapshot (unless it has an `up` of its own), as
// a scrape that succeeded gives it: rules and dashboards written for scraped data
// (`up{job="shmstatsd"}`) then work on pushed data too.
void AddScrapeUp(Snapshot& snap);

// The headers every remote-write 1.0 request carries.
const std::vector<std::pair<std::string, std::string>>& RemoteWriteHeaders();

class RemoteWriter {
 public:
  // Starts the sender thread and adds the metrics above to `self` (which must
  // outlive this object). Throws shmstats::Error(kInvalidArgument) for a bad URL,
  // TLS file or credential file.
  RemoteWriter(RemoteWriteOptions options, SelfMetrics& self);
  // Flushes for at most flush_at_exit, then stops the thread.
  ~RemoteWriter();

  // Queues one tick's snapshot (taken at unix_ms): encoded and sent on the thread.
  void Push(Snapshot snap, int64_t unix_ms);

  // For /healthz. Thread-safe.
  struct Status {
    uint64_t queued_samples = 0;   // waiting to be sent
    uint32_t failures_in_row = 0;  // requests failed since the last one accepted
  };
  Status status() const { return {queued_.load(), failures_in_row_.load()}; }

 private:
  struct Tick {
    Snapshot snap;
    int64_t unix_ms;
    size_t samples;
  };
  void Run();   // the sender thread: Send(), then finished_
  void Send();  // sends until stopped and flushed (or the flush time is up)
  // Encodes what Push queued into batches_ and drops the oldest beyond the bound.
  void Encode(std::deque<Tick> ticks);
  void DropOldest();
  // Sends the oldest batch; false when it must be retried later.
  bool SendOne(std::chrono::milliseconds timeout);
  void Collect(std::vector<MetricSnapshot>& out) const;

  // Why an attempt failed: the reason label of requests_failed_total.
  enum Reason { kNetwork, kTls, kAuth, kServer, kRejected, kReasons };
  void Failed(Reason reason, const std::string& message);

  const RemoteWriteOptions options_;
  HttpClient client_;
  Credentials credentials_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Tick> incoming_;  // pushed, not encoded yet (guarded by mu_)
  size_t incoming_samples_ = 0;
  bool stop_ = false;
  bool finished_ = false;  // Send() returned

  std::deque<RemoteWriteBatch> batches_;  // the sender thread's
  std::atomic<size_t> batch_samples_{0};  // written by the sender, read by Push too
  std::chrono::milliseconds backoff_{0};
  std::atomic<uint32_t> failures_in_row_{0};

  std::atomic<uint64_t> sent_{0}, dropped_full_{0}, dropped_rejected_{0};
  std::atomic<uint64_t> failed_[kReasons] = {};
  std::atomic<uint64_t> queued_{0};
  std::thread thread_;
};

}  // namespace shmstats::daemon
