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

}  // namespace

const std::vector<std::pair<std::string, std::string>>& RemoteWriteHeaders() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Encoding", "snappy"},
      {"Content-Type", "application/x-protobuf"},
      {"X-Prometheus-Remote-Write-Version", "0.1.0"},
  };
  return headers;
}

RemoteWriter::RemoteWriter(RemoteWriteOptions options, SelfMetrics& self)
    : options_(std::move(options)), client_(ParseHttpUrl(options_.url)) {
  self.AddSource([this](std::vector<MetricSnapshot>& out) { Collect(out); });
  thread_ = std::thread([this] { Run(); });
  Log("info", fmt::format("remote-write to {} as instance {}", options_.url, options_.instance));
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
    for (auto& batch : EncodeRemoteWrite(std::move(t.snap), t.unix_ms, options_.instance,
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

bool RemoteWriter::SendOne(std::chrono::milliseconds timeout) {
  const RemoteWriteBatch& batch = batches_.front();
  auto done = [&] {
    batch_samples_ -= batch.samples;
    batches_.pop_front();
  };
  try {
    HttpReply reply = client_.Post(batch.body, RemoteWriteHeaders(), timeout);
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
    ++failed_;
    if (reply.status >= 500 || reply.status == 429) {
      if (failures_in_row_++ == 0) {
        Log("warning", fmt::format("remote-write: {} answered HTTP {} ({}); retrying", options_.url,
                                   reply.status, FirstLine(reply.body)));
      }
      return false;
    }
    // Rejected for good (400: out of order, bad labels...): sending it again would
    // be rejected again and hold up everything queued behind it.
    dropped_rejected_ += batch.samples;
    LogLimited("remote-write rejected", "error",
               fmt::format("remote-write: {} rejected {} samples with HTTP {}: {}", options_.url,
                           batch.samples, reply.status, FirstLine(reply.body)));
    done();
    return true;
  } catch (const Error& e) {
    ++failed_;
    if (failures_in_row_++ == 0) {
      Log("warning", fmt::format("remote-write: {}; queueing and retrying", e.what()));
    }
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
  out.push_back(Counter("shmstatsd_remote_write_requests_failed_total",
                        "Remote-write requests that failed (retried unless rejected)",
                        failed_.load()));
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
