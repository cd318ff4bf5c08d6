// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/history_feed.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>

#include "common/progress_line.h"
#include "daemon/log.h"
#include "daemon/state_files.h"
#include "history/store.h"
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
  Open();
  Publish();
}

HistoryFeed::~HistoryFeed() = default;

void HistoryFeed::Open() {
  if (writer_) return;
  try {
    if (!lock_ && !history::IsPostgresUrl(config_.history_db)) {
      lock_ = std::make_unique<LockFile>(config_.history_db + ".lock");
    }
    writer_ = history::OpenWriter(config_.history_db, config_.instance);
    ok_ = true;
    Log("info", fmt::format("history database {}", config_.history_db));
  } catch (const std::exception& e) {
    ok_ = false;
    self_.CountError(ErrorKind::kHistory);
    if (failures_++ % 60 == 0) Log("error", fmt::format("{} (retrying every tick)", e.what()));
  }
}

uint64_t HistoryFeed::Queued() const { return (spool_ ? spool_->ticks() : 0) + memory_.size(); }

HistoryFeed::Backlog HistoryFeed::backlog() const {
  return {counters_->ticks.load(), counters_->bytes.load()};
}

void HistoryFeed::Write(history::TickRecord tick) {
  Open();
  const bool direct = writer_ && Queued() == 0;
  if (direct && TryWrite(tick, nullptr)) return Publish();
  Enqueue(std::move(tick));
  if (!direct) Send();  // (a direct write that failed is not retried at once)
  Publish();
}

void HistoryFeed::Flush() {
  if (Queued() == 0) return;
  Open();
  Send();
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

void HistoryFeed::Send() {
  if (!writer_ || Queued() == 0) return;
  const auto start = Clock::now();
  common::ProgressLine progress;
  if (!sending_) {
    sending_ = true;
    sent_ = 0;
    Log("info", fmt::format("history: sending {} queued ticks to the store", Queued()));
  }
  auto show = [&](bool force) {
    progress.Show(
        fmt::format("shmstatsd: history backlog: {} ticks sent, {} to go", sent_, Queued()), force);
  };
  show(true);
  while (writer_) {
    std::optional<history::TickRecord> spooled;
    if (spool_) spooled = spool_->Front();
    const history::TickRecord* next = spooled           ? &*spooled
                                      : memory_.empty() ? nullptr
                                                        : &memory_.front();
    if (!next || !TryWrite(*next, &progress)) break;
    if (spooled) {
      spool_->PopFront();
    } else {
      memory_.pop_front();
    }
    ++sent_;
    if (progress.Due()) show(false);
    // The rest waits for the next tick: collection keeps its pace.
    if (Since(start) * 1000 >= static_cast<double>(config_.interval_ms) / 2) break;
  }
  if (Queued() == 0) {
    progress.Clear();
    sending_ = false;
    Log("info", fmt::format("history: backlog sent ({} ticks)", sent_));
  }
}

bool HistoryFeed::TryWrite(const history::TickRecord& tick, common::ProgressLine* progress) {
  const auto start = Clock::now();
  try {
    auto result = writer_->Write(tick, config_.retention);
    self_.HistoryWritten(Since(start), result.rows);
    if (!ok_.exchange(true)) Log("info", "history database writable again");
    failures_ = 0;
    return true;
  } catch (const history::StoreError& e) {
    if (progress) progress->Clear();
    self_.CountError(ErrorKind::kHistory);
    if (ok_.exchange(false) || failures_ % 60 == 0) {
      Log("error", fmt::format("history write failed: {} ({} ticks queued{})", e.what(),
                               Queued() + (progress ? 0 : 1),
                               spool_ ? " in " + spool_->dir() : std::string(" in memory")));
    }
    ++failures_;
    // A full disk or a held lock leaves the writer usable for the same tick; any
    // other failure may have broken the connection: open a new writer next time.
    using Kind = history::StoreError::Kind;
    if (e.kind() != Kind::kFull && e.kind() != Kind::kBusy) writer_.reset();
    return false;
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
