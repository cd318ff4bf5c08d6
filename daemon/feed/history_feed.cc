// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/history_feed.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "common/progress_line.h"
#include "daemon/log.h"
#include "daemon/state_files.h"
#include "history/store.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void MakeDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir.empty() ? "." : dir, ec);
  CheckStateDir(dir.empty() ? "." : dir);
}

MetricSnapshot Dropped(const char* reason, uint64_t n) {
  MetricSnapshot m;
  m.name = "shmstatsd_history_dropped_ticks_total";
  m.help =
      "Ticks dropped before reaching the history store: the spool or the in-memory "
      "queue was full (full, memory), or a spooled file was torn or damaged (corrupt)";
  m.labels = {{"reason", reason}};
  m.counter = n;
  return m;
}

}  // namespace

struct HistoryFeed::Counters {
  std::atomic<uint64_t> ticks{0}, bytes{0}, full{0}, corrupt{0}, memory{0};
};

HistoryFeed::HistoryFeed(const Config& config, SelfMetrics& self)
    : config_(config), self_(self), counters_(std::make_shared<Counters>()) {
  MakeDir(config_.state_dir);
  if (!history::IsPostgresUrl(config_.history_db)) {  // a local file: one daemon at a time
    MakeDir(std::filesystem::path(config_.history_db).parent_path().string());
    try {
      lock_ = std::make_unique<LockFile>(config_.history_db + ".lock");
    } catch (const Error& e) {
      if (e.code() == Errc::kAlreadyExists) throw;
      Log("error", e.what());  // retried with the database
    }
  }
  if (config_.spool.max_ticks > 0) {
    try {
      spool_ = std::make_unique<TickSpool>(config_.state_dir + "/spool", config_.spool);
      if (spool_->ticks() > 0) {
        Log("info", fmt::format("{} ticks ({} bytes) spooled before this start wait in {}; they "
                                "are sent first",
                                spool_->ticks(), spool_->bytes(), spool_->dir()));
      }
    } catch (const Error& e) {
      if (e.code() == Errc::kAlreadyExists) throw;
      Log("error", fmt::format("{}; ticks the history store does not take are kept in memory only",
                               e.what()));
    }
  }
  self_.AddSource([c = counters_](std::vector<MetricSnapshot>& out) {
    MetricSnapshot bytes;
    bytes.name = "shmstatsd_history_pending_bytes";
    bytes.type = MetricType::kGauge;
    bytes.help = "Bytes of the ticks waiting in the on-disk spool for the history store";
    bytes.unit = "bytes";
    bytes.gauge = static_cast<double>(c->bytes.load());
    out.push_back(std::move(bytes));
    out.push_back(Dropped("full", c->full.load()));
    out.push_back(Dropped("corrupt", c->corrupt.load()));
    out.push_back(Dropped("memory", c->memory.load()));
  });
  Publish();
  thread_ = std::thread([this] { Run(); });
}

HistoryFeed::~HistoryFeed() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

// ---- The writer thread ----

void HistoryFeed::Run() {
  Open();  // at once: the store's schema is there before the first tick
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || (job_ && !done_); });
    if (!job_ || done_) return;  // stopping, nothing handed over
    const std::vector<history::TickRecord>& ticks = job_->ticks;
    lock.unlock();
    size_t written = 0;
    for (const auto& tick : ticks) {
      Open();
      if (!writer_ || !TryWrite(tick)) break;
      ++written;
    }
    lock.lock();
    written_ = written;
    done_ = true;
    cv_.notify_all();
    if (writer_ && stored_rows_ && history::NowMs() - measured_ms_ >= kStorageEveryMs) {
      lock.unlock();  // the collector need not wait for it
      Measure();
      lock.lock();
    }
  }
}

void HistoryFeed::Open() {
  if (writer_) return;
  started_ms_ = history::NowMs();  // a connection that hangs is a stuck write too
  try {
    if (!lock_ && !history::IsPostgresUrl(config_.history_db)) {
      lock_ = std::make_unique<LockFile>(config_.history_db + ".lock");
    }
    writer_ = history::OpenWriter(config_.history_db, config_.instance, config_.history_timeout_ms);
    ok_ = true;
    Log("info", fmt::format("history database {}", config_.history_db));
  } catch (const std::exception& e) {
    ok_ = false;
    self_.CountError(ErrorKind::kHistory);
    if (failures_++ % 60 == 0) Log("error", fmt::format("{} (retrying every tick)", e.what()));
  }
  started_ms_ = 0;
}

bool HistoryFeed::TryWrite(const history::TickRecord& tick) {
  const auto start = Clock::now();
  started_ms_ = history::NowMs();
  try {
    auto result = writer_->Write(tick, config_.retention);
    started_ms_ = 0;
    self_.HistoryWritten(Since(start), result.rows);
    stored_rows_ = stored_rows_ || result.rows > 0;
    if (!ok_.exchange(true)) Log("info", "history database writable again");
    failures_ = 0;
    return true;
  } catch (const history::StoreError& e) {
    started_ms_ = 0;
    self_.CountError(ErrorKind::kHistory);
    if (ok_.exchange(false) || failures_ % 60 == 0) {
      Log("error",
          fmt::format("history write failed: {} (its tick waits in the backlog{})", e.what(),
                      spool_ ? " in " + spool_->dir() : std::string(" in memory")));
    }
    ++failures_;
    // A full disk or a held lock leaves the writer usable for the same tick; any
    // other failure (a deadline passed, a broken connection) needs a new writer.
    using Kind = history::StoreError::Kind;
    if (e.kind() != Kind::kFull && e.kind() != Kind::kBusy) writer_.reset();
    return false;
  }
}

// Counting every row takes a while on a large store: not more often than every
// kStorageEveryMs, and never counted as a stuck write.
void HistoryFeed::Measure() {
  measured_ms_ = history::NowMs();
  try {
    Storage s{writer_->Stats(), measured_ms_};
    std::lock_guard lock(storage_mu_);
    storage_ = std::move(s);
  } catch (const history::StoreError& e) {
    LogLimited("history stats", "warning",
               fmt::format("measuring the history store: {}", e.what()));
    using Kind = history::StoreError::Kind;
    if (e.kind() != Kind::kFull && e.kind() != Kind::kBusy) writer_.reset();
  }
}

int64_t HistoryFeed::running_ms() const {
  const int64_t started = started_ms_.load();
  return started == 0 ? 0 : std::max<int64_t>(0, history::NowMs() - started);
}

std::optional<HistoryFeed::Storage> HistoryFeed::storage() const {
  std::lock_guard lock(storage_mu_);
  return storage_;
}

// ---- The collector's side ----

uint64_t HistoryFeed::Queued() const { return (spool_ ? spool_->ticks() : 0) + memory_.size(); }

HistoryFeed::Backlog HistoryFeed::backlog() const {
  return {counters_->ticks.load(), counters_->bytes.load()};
}

bool HistoryFeed::Busy() {
  std::lock_guard lock(mu_);
  return job_.has_value();
}

void HistoryFeed::Submit(Job job) {
  {
    std::lock_guard lock(mu_);
    job_ = std::move(job);
    done_ = false;
    written_ = 0;
  }
  cv_.notify_all();
  // Collection keeps its pace: a write that takes longer goes on alone.
  AwaitDone(std::chrono::milliseconds(config_.interval_ms / 2));
  Reap();
}

bool HistoryFeed::AwaitDone(std::chrono::milliseconds bound) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, bound, [&] { return !job_ || done_; });
}

void HistoryFeed::Reap() {
  std::optional<Job> job;
  size_t written = 0;
  {
    std::lock_guard lock(mu_);
    if (!job_ || !done_) return;
    job.swap(job_);
    written = written_;
  }
  if (job->direct) {
    if (written == 0) Requeue(std::move(job->ticks.front()));
    return;
  }
  for (size_t i = 0; i < written; ++i) {
    if (i < job->seqs.size()) {
      spool_->Remove(job->seqs[i]);
    } else if (!memory_.empty() && memory_.front().unix_ms == job->ticks[i].unix_ms) {
      memory_.pop_front();
    }
  }
  sent_ += written;
  if (progress_) {
    progress_->Show(
        fmt::format("shmstatsd: history backlog: {} ticks sent, {} to go", sent_, Queued()));
  }
  if (Queued() == 0 && sending_) {
    if (progress_) progress_->Clear();
    progress_.reset();
    sending_ = false;
    Log("info", fmt::format("history: backlog sent ({} ticks)", sent_));
  }
}

void HistoryFeed::SubmitBacklog() {
  if (Queued() == 0) return;
  Job job;
  if (spool_ && spool_->ticks() > 0) {
    for (auto& [seq, tick] : spool_->Peek(kBatch)) {
      job.seqs.push_back(seq);
      job.ticks.push_back(std::move(tick));
    }
  }
  if (job.ticks.empty()) {  // the spool was empty (or only held damaged files)
    for (size_t i = 0; i < memory_.size() && i < kBatch; ++i) job.ticks.push_back(memory_[i]);
  }
  if (job.ticks.empty()) return;
  if (!sending_) {
    sending_ = true;
    sent_ = 0;
    progress_ = std::make_unique<common::ProgressLine>();
    Log("info", fmt::format("history: sending {} queued ticks to the store", Queued()));
    progress_->Show(fmt::format("shmstatsd: history backlog: 0 ticks sent, {} to go", Queued()),
                    true);
  }
  Submit(std::move(job));
}

void HistoryFeed::Write(history::TickRecord tick) {
  Reap();
  if (Busy()) {  // an earlier write still runs: this tick waits behind it
    Enqueue(std::move(tick));
  } else if (Queued() == 0) {
    Job job;
    job.direct = true;
    job.ticks.push_back(std::move(tick));
    Submit(std::move(job));
  } else {
    Enqueue(std::move(tick));
    SubmitBacklog();
  }
  Publish();
}

void HistoryFeed::Flush() {
  Reap();
  if (!Busy()) SubmitBacklog();
  Publish();
}

void HistoryFeed::Enqueue(history::TickRecord tick) {
  if (spool_ && memory_.empty()) {  // after memory: the order of the backlog is kept
    try {
      spool_->Append(tick);
      return;
    } catch (const Error& e) {
      self_.CountError(ErrorKind::kHistory);
      LogLimited("spool", "error", fmt::format("{}; keeping the tick in memory", e.what()));
    }
  }
  memory_.push_back(std::move(tick));
  if (memory_.size() > kMaxPending) {
    memory_.pop_front();
    ++counters_->memory;
    LogLimited("spool memory", "warning", "history: dropped the oldest tick kept in memory");
  }
}

// A tick whose direct write failed: in front of the ticks taken while it ran.
void HistoryFeed::Requeue(history::TickRecord tick) {
  if (spool_ && (spool_->ticks() > 0 || memory_.empty())) {
    try {
      spool_->Prepend(tick);
      return;
    } catch (const Error& e) {
      self_.CountError(ErrorKind::kHistory);
      LogLimited("spool", "error", fmt::format("{}; keeping the tick in memory", e.what()));
    }
  }
  memory_.push_front(std::move(tick));
  if (memory_.size() > kMaxPending) {
    memory_.pop_back();
    ++counters_->memory;
    LogLimited("spool memory", "warning", "history: dropped a tick kept in memory");
  }
}

void HistoryFeed::Publish() {
  counters_->ticks = Queued();
  counters_->bytes = spool_ ? spool_->bytes() : 0;
  if (spool_) {
    if (spool_->dropped_full() > counters_->full) {
      LogLimited("spool full", "warning",
                 fmt::format("history: the spool {} is full (spool-max-ticks, spool-max-bytes): "
                             "dropped the oldest ticks ({} so far)",
                             spool_->dir(), spool_->dropped_full()));
    }
    if (spool_->dropped_corrupt() > counters_->corrupt) {
      LogLimited("spool corrupt", "warning",
                 fmt::format("history: dropped {} torn or damaged tick files in {} so far (a "
                             "crash while one was written)",
                             spool_->dropped_corrupt(), spool_->dir()));
    }
    counters_->full = spool_->dropped_full();
    counters_->corrupt = spool_->dropped_corrupt();
  }
  self_.SetPending(Queued());
}

void HistoryFeed::LogExit() {
  {  // the write under way ends by its deadline
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !job_ || done_; });
  }
  Reap();
  Publish();
  if (spool_ && spool_->ticks() > 0) {
    Log("warning", fmt::format("exiting with {} ticks spooled in {}: the next start sends them",
                               spool_->ticks(), spool_->dir()));
  }
  if (!memory_.empty()) {
    Log("error",
        fmt::format("exiting with {} ticks not written to the history database", memory_.size()));
  }
}

}  // namespace shmstats::daemon
