// SPDX-License-Identifier: Apache-2.0
#include "daemon/push/remote_write.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <random>

#include "daemon/log.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

using Clock = std::chrono::steady_clock;

MetricSnapshot Counter(const char* name, const char* help, uint64_t value) {
  MetricSnapshot m;
  m.name = name;
  m.type = MetricType::kCounter;
  m.help = help;
  m.counter = value;
  return m;
}

// The reply's first line, for a log message.
std::string FirstLine(const std::string& body) {
  std::string line = body.substr(0, std::min(body.find('\n'), size_t{200}));
  return line.empty() ? "(no message)" : line;
}

const char* const kReasonNames[] = {"network", "tls", "auth", "server", "rejected"};

}  // namespace

const std::vector<std::pair<std::string, std::string>>& RemoteWriteHeaders() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf"},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"},
  };
  return headers;
}

void AddScrapeUp(Snapshot& snap) {
  if (std::any_of(snap.metrics.begin(), snap.metrics.end(),
                  [](const MetricSnapshot& m) { return m.name == "up"; })) {
    return;
  }
  MetricSnapshot up;
  up.name = "up";
  up.type = MetricType::kGauge;
  up.help = "1: shmstatsd took this tick's snapshot (a scrape's up)";
  up.gauge = 1;
  snap.metrics.push_back(std::move(up));
}

RemoteWriter::RemoteWriter(RemoteWriteOptions options, SelfMetrics& self)
    : options_(std::move(options)),
      client_(ParseHttpUrl(options_.url), options_.tls),
      credentials_(options_.auth) {
  self.AddSource([this](std::vector<MetricSnapshot>& out) { Collect(out); });
  thread_ = std::thread([this] { Run(); });
  Log("info", fmt::format("remote-write to {} as job {} instance {}{}", options_.url,
                          options_.job.empty() ? "(none)" : options_.job, options_.instance,
                          options_.auth.bearer_token_file.empty()
                              ? (options_.auth.username.empty() ? "" : ", basic auth")
                              : ", bearer token"));
}

RemoteWriter::~RemoteWriter() {
  std::unique_lock lock(mu_);
  stop_ = true;
  cv_.notify_all();
  // The flush has flush_at_exit; a request still in flight after it (a receiver that
  // accepts and never answers holds one for `timeout`) is cancelled.
  if (!cv_.wait_for(lock, options_.flush_at_exit + std::chrono::milliseconds(100),
                    [&] { return finished_; })) {
    client_.Cancel();
  }
  lock.unlock();
  thread_.join();
}

void RemoteWriter::Push(Snapshot snap, int64_t unix_ms) {
  size_t samples = RemoteWriteSamples(snap, options_.classic_histograms);
  {
    std::lock_guard lock(mu_);
    incoming_.push_back({std::move(snap), unix_ms, samples});
    incoming_samples_ += samples;
    // The sender is busy (a slow receiver): the bound holds here too.
    while (incoming_samples_ > options_.max_queue_samples && incoming_.size() > 1) {
      incoming_samples_ -= incoming_.front().samples;
      dropped_full_ += incoming_.front().samples;
      incoming_.pop_front();
    }
    queued_ = batch_samples_ + incoming_samples_;
  }
  cv_.notify_all();
}

void RemoteWriter::Encode(std::deque<Tick> ticks) {
  for (Tick& t : ticks) {
    for (auto& batch : EncodeRemoteWrite(std::move(t.snap), t.unix_ms,
                                         RemoteWriteTarget{options_.job, options_.instance},
                                         kRemoteWriteMaxSamples, options_.classic_histograms)) {
      batch_samples_ += batch.samples;
      batches_.push_back(std::move(batch));
    }
  }
  DropOldest();
}

void RemoteWriter::DropOldest() {
  uint64_t dropped = 0;
  while (batch_samples_ > options_.max_queue_samples && batches_.size() > 1) {
    dropped += batches_.front().samples;
    batch_samples_ -= batches_.front().samples;
    batches_.pop_front();
  }
  if (dropped > 0) {
    dropped_full_ += dropped;
    LogLimited("remote-write queue full", "warning",
               fmt::format("remote-write: queue full ({} samples): dropped the oldest {} samples",
                           options_.max_queue_samples, dropped));
  }
}

void RemoteWriter::Failed(Reason reason, const std::string& message) {
  static const char* const kinds[] = {"remote-write network", "remote-write tls",
                                      "remote-write auth", "remote-write server",
                                      "remote-write rejected"};
  ++failed_[reason];
  if (reason != kRejected) ++failures_in_row_;
  LogLimited(kinds[reason], reason == kRejected ? "error" : "warning", message);
}

bool RemoteWriter::SendOne(std::chrono::milliseconds timeout) {
  const RemoteWriteBatch& batch = batches_.front();
  auto done = [&] {
    batch_samples_ -= batch.samples;
    batches_.pop_front();
  };
  // What happens to the data, for the log line.
  auto kept = [&] {
    return fmt::format("{} samples stay queued and are retried (at most {} are kept)",
                       batch_samples_.load(), options_.max_queue_samples);
  };
  try {
    std::vector<std::pair<std::string, std::string>> headers = RemoteWriteHeaders();
    if (const std::string& auth = credentials_.Authorization(); !auth.empty()) {
      headers.emplace_back("Authorization", auth);
    }
    HttpReply reply = client_.Post(batch.body, headers, timeout);
    if (reply.status / 100 == 2) {
      sent_ += batch.samples;
      done();
      if (failures_in_row_ > 0) {
        Log("info", fmt::format("remote-write: {} accepts samples again", options_.url));
      }
      failures_in_row_ = 0;
      backoff_ = {};
      return true;
    }
    if (reply.status == 401 || reply.status == 403) {
      Failed(kAuth, fmt::format("remote-write: {} refused our credentials with HTTP {} ({}): check "
                                "remote-write-username and remote-write-password-file, or "
                                "remote-write-bearer-token-file; {}",
                                options_.url, reply.status, FirstLine(reply.body), kept()));
      return false;
    }
    if (reply.status >= 500 || reply.status == 429) {
      Failed(kServer, fmt::format("remote-write: {} answered HTTP {} ({}); {}", options_.url,
                                  reply.status, FirstLine(reply.body), kept()));
      return false;
    }
    // Rejected for good (400: out of order, bad labels...): sending it again would
    // be rejected again and hold up everything queued behind it.
    dropped_rejected_ += batch.samples;
    Failed(kRejected,
           fmt::format("remote-write: {} rejected {} samples with HTTP {}: {}; they are "
                       "dropped (counted as dropped, reason rejected)",
                       options_.url, batch.samples, reply.status, FirstLine(reply.body)));
    done();
    return true;
  } catch (const TlsError& e) {
    Failed(kTls, fmt::format("remote-write: {}: check the receiver's certificate, "
                             "remote-write-ca-file and remote-write-cert-file; {}",
                             e.what(), kept()));
    return false;
  } catch (const Error& e) {
    Failed(kNetwork, fmt::format("remote-write: {}; {}", e.what(), kept()));
    return false;
  }
}

void RemoteWriter::Run() {
  Send();
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

void RemoteWriter::Send() {
  std::minstd_rand jitter(std::random_device{}());
  Clock::time_point retry_at = Clock::now();
  std::optional<Clock::time_point> stopping;  // the flush deadline once stopped
  std::unique_lock lock(mu_);
  for (;;) {
    auto wake = [&] {
      return (stop_ && !stopping) || !incoming_.empty() ||
             (!batches_.empty() && Clock::now() >= retry_at);
    };
    Clock::time_point until = Clock::time_point::max();
    if (!batches_.empty()) until = retry_at;
    if (stopping) until = std::min(until, *stopping);
    if (until == Clock::time_point::max()) {
      cv_.wait(lock, wake);
    } else {
      cv_.wait_until(lock, until, wake);
    }
    if (stop_ && !stopping) stopping = Clock::now() + options_.flush_at_exit;
    std::deque<Tick> ticks;
    ticks.swap(incoming_);
    incoming_samples_ = 0;
    lock.unlock();

    Encode(std::move(ticks));
    auto now = Clock::now();
    if (stopping && (batches_.empty() || now >= *stopping)) {
      if (!batches_.empty()) {
        Log("error", fmt::format("remote-write: exiting with {} samples not sent to {}",
                                 batch_samples_.load(), options_.url));
      }
      break;
    }
    if (!batches_.empty() && now >= retry_at) {
      auto timeout = options_.timeout;
      if (stopping) {
        timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        *stopping - now + std::chrono::milliseconds(1)));
      }
      if (!SendOne(timeout)) {
        backoff_ = backoff_.count() == 0 ? options_.min_backoff
                                         : std::min(backoff_ * 2, options_.max_backoff);
        double factor = std::uniform_real_distribution<double>(0.75, 1.25)(jitter);
        retry_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(backoff_ * factor);
      }
    }
    lock.lock();
    queued_ = batch_samples_ + incoming_samples_;
  }
}

void RemoteWriter::Collect(std::vector<MetricSnapshot>& out) const {
  out.push_back(Counter("shmstatsd_remote_write_samples_sent_total",
                        "Samples the remote-write receiver accepted", sent_.load()));
  for (int r = 0; r < kReasons; ++r) {
    out.push_back(Counter("shmstatsd_remote_write_requests_failed_total",
                          "Remote-write requests that failed, by reason (retried unless rejected)",
                          failed_[r].load()));
    out.back().labels = {{"reason", kReasonNames[r]}};
  }
  const char* reasons[] = {"queue_full", "rejected"};
  const uint64_t dropped[] = {dropped_full_.load(), dropped_rejected_.load()};
  for (int i = 0; i < 2; ++i) {
    out.push_back(Counter("shmstatsd_remote_write_samples_dropped_total",
                          "Samples never sent: the oldest when the queue was full, or those "
                          "the receiver rejected",
                          dropped[i]));
    out.back().labels = {{"reason", reasons[i]}};
  }
  MetricSnapshot queue;
  queue.name = "shmstatsd_remote_write_queue_samples";
  queue.type = MetricType::kGauge;
  queue.help = "Samples waiting to be sent to the remote-write receiver";
  queue.gauge = static_cast<double>(queued_.load());
  out.push_back(std::move(queue));
}

}  // namespace shmstats::daemon
