// SPDX-License-Identifier: Apache-2.0
#include "daemon/collector.h"

#include <fmt/format.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "common/exposition.h"
#include "daemon/baseline.h"
#include "daemon/log.h"
#include "daemon/mapped_read.h"
#include "daemon/segment_creator.h"
#include "daemon/state_files.h"
#include "daemon/stats_json.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

Collector::Collector(const Config& config)
    : config_(config),
      started_ms_(history::NowMs()),
      baseline_path_(config_.state_dir + "/baseline"),
      history_(std::make_unique<HistoryFeed>(config_, self_)) {
  // Go on where the last daemon stopped: its last tick's record is sent again (the
  // store ignores it if it holds it already), and the first tick counts from there.
  if (std::optional<Baseline> last = LoadBaseline(baseline_path_)) {
    aggregator_.Restore(last->state);
    Log("info", fmt::format("going on from the tick of {} ms ({} series)", last->state.last_ms,
                            last->state.series.size()));
    history_->Write(std::move(last->record));
  }
  if (!config_.remote_write.empty()) {
    RemoteWriteOptions options;
    options.url = config_.remote_write;
    options.instance = config_.instance;
    options.max_queue_samples = config_.remote_write_queue;
    options.job = config_.remote_write_job;
    options.tls = config_.remote_write_tls;
    options.auth = config_.remote_write_auth;
    options.classic_histograms = config_.remote_write_classic_histograms;
    remote_ = std::make_unique<RemoteWriter>(std::move(options), self_);
  }
}

Collector::~Collector() = default;

std::shared_ptr<const Segment> Collector::Attached() {
  std::lock_guard lock(segment_mu_);
  if (segment_ && segment_->Replaced()) {
    LogLimited("segment replaced", "warning",
               fmt::format("segment {} was removed or re-created; re-attaching", config_.segment));
    segment_.reset();
    logged_missing_ = false;
  }
  int64_t now = history::NowMs();
  if (!segment_ && now - last_attach_try_ms_ >= 500) {
    last_attach_try_ms_ = now;
    try {
      if (config_.create_segment) CreateSegmentIfMissing(config_);
      ReadMapped(config_.segment, [&] {
        segment_ =
            std::make_shared<const Segment>(Segment::Open(config_.segment, Access::kReadOnly));
      });
      Log("info", fmt::format("attached segment {}", config_.segment));
    } catch (const Error& e) {
      if (!logged_missing_) {
        LogLimited("segment open", e.code() == Errc::kNotFound ? "warning" : "error",
                   fmt::format("{}; waiting for it", e.what()));
        logged_missing_ = true;
      }
      if (e.code() != Errc::kNotFound) self_.CountError(ErrorKind::kSegment);
    }
  }
  return segment_;
}

void Collector::SegmentFailed(const Error& e) {
  self_.CountError(ErrorKind::kSegment);
  LogLimited("segment read", "error",
             fmt::format("reading segment {}: {}", config_.segment, e.what()));
  if (e.code() == Errc::kCorrupt) Detach();
}

void Collector::Detach() {
  std::lock_guard lock(segment_mu_);
  segment_.reset();
  logged_missing_ = false;
}

std::shared_ptr<const std::string> Collector::LatestStats() const {
  std::unique_lock lock(stats_mu_);
  if (!stats_in_file_) return stats_;
  lock.unlock();  // the file is replaced by a rename: whatever is open stays whole
  std::ifstream in(config_.stats_json, std::ios::binary | std::ios::ate);
  if (!in) return nullptr;
  auto doc = std::make_shared<std::string>(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(doc->data(), static_cast<std::streamsize>(doc->size()))) return nullptr;
  return doc;
}

void Collector::Tick() {
  auto start = Clock::now();
  auto segment = Attached();
  if (!segment) {
    self_.SetSegment(std::nullopt);
    // A backlog is sent even while the segment is missing.
    history_->Flush();
    return;
  }
  retirement_.Run(config_.segment);  // before reading: the read then shows it folded
  auto pass = TickPass();
  Snapshot snap;
  try {
    SegmentInfo info;
    ReadMapped(config_.segment, [&] {
      snap = segment->Read();
      info = segment->Info();
    });
    self_.SetSegment(info);
    // A segment created while the daemon watched: everything in it is new. (The
    // creation time comes from the segment: one in the future is not believed.)
    auto created_ms = static_cast<int64_t>(info.created_unix_ns / 1'000'000);
    auto taken_ms = static_cast<int64_t>(snap.taken_unix_ns / 1'000'000);
    if (!aggregator_.HasBaseline() && created_ms > started_ms_ && created_ms <= taken_ms) {
      aggregator_.StartFromZero(created_ms);
    }
  } catch (const Error& e) {
    SegmentFailed(e);
    return;
  }
  for (const auto& p : snap.problems) LogLimited("segment problem", "warning", "segment: " + p);
  expiry_.Observe(snap, static_cast<int64_t>(snap.taken_unix_ns / 1'000'000));
  activity_.Note(config_.segment, snap);
  TickResult tick = aggregator_.Next(std::move(snap), config_.interval_ms);
  WriteFiles(tick);
  // The record takes the snapshot's metrics (copies them when remote-write sends it).
  history::TickRecord record = TakeRecord(tick, /*copy=*/remote_ != nullptr);
  tick.stats = {};
  tick.intervals = {};
  SaveState(record);
  WriteHistory(std::move(record));
  pass.unlock();
  if (remote_) {  // the segment's series and the daemon's own, as /metrics has them
    self_.AddTo(tick.snapshot);
    AddScrapeUp(tick.snapshot);
    remote_->Push(std::move(tick.snapshot), tick.unix_ms);
  }
  expiry_.Run(config_.segment);  // gone from the next tick's read
  self_.TickDone(Since(start), tick.unix_ms);
  last_tick_ms_ = tick.unix_ms;
  // A tick's snapshot, records and documents are freed by now: hand the pages back,
  // so the daemon's resident size is what it keeps, not its last tick's peak.
  malloc_trim(0);
}

void Collector::SetHeartbeat(std::function<void(bool ticked)> beat, int64_t every_ms) {
  beat_ = std::move(beat);
  beat_every_ms_ = every_ms;
}

void Collector::SaveState(const history::TickRecord& record) {
  try {
    SaveBaseline(baseline_path_, aggregator_.State(), record);
  } catch (const Error& e) {
    // An older baseline would make the next daemon count this interval twice: without
    // one, it starts from a baseline tick (and loses an interval instead).
    ::unlink(baseline_path_.c_str());
    self_.CountError(ErrorKind::kBaseline);
    LogLimited("baseline", "error", e.what());
  }
}

void Collector::WriteHistory(history::TickRecord record) { history_->Write(std::move(record)); }

void Collector::WriteFiles(const TickResult& tick) {
  // stats.json goes to its file piece by piece; GET /stats reads it back from there.
  // Only without a file (or when it cannot be written) is the document kept here.
  bool in_file = false;
  if (!config_.stats_json.empty()) {
    try {
      AtomicFile file(config_.stats_json);
      WriteStatsJson(tick, config_.segment, stats_order_,
                     [&file](std::string_view piece) { file.Write(piece); });
      file.Commit();
      in_file = true;
    } catch (const Error& e) {
      self_.CountError(ErrorKind::kStatsJson);
      LogLimited("stats.json", "error", e.what());
    }
  }
  std::shared_ptr<const std::string> doc;
  if (!in_file)
    doc = std::make_shared<const std::string>(StatsJson(tick, config_.segment, stats_order_));
  {
    std::lock_guard lock(stats_mu_);
    stats_in_file_ = in_file;
    stats_ = std::move(doc);
  }
  if (!config_.textfile.empty()) {
    try {
      WriteFileAtomically(config_.textfile,
                          common::ToText(tick.snapshot, common::TextFormat::kPrometheus));
    } catch (const Error& e) {
      self_.CountError(ErrorKind::kTextfile);
      LogLimited("textfile", "error", e.what());
    }
  }
}

void Collector::Guarded(const std::function<void()>& step) {
  // Whatever a tick meets (memory exhausted, a bug), collection goes on at the next
  // one: an exception leaving Run() would end the daemon.
  try {
    step();
  } catch (const std::exception& e) {
    self_.CountError(ErrorKind::kSegment);
    LogLimited("tick failed", "error", fmt::format("tick failed: {}", e.what()));
  }
}

Clock::time_point Collector::WakeUp(Clock::time_point next) const {
  if (!beat_ || beat_every_ms_ <= 0) return next;
  return std::min(next, Clock::now() + std::chrono::milliseconds(beat_every_ms_));
}

void Collector::Run() {
  auto next = Clock::now();
  std::unique_lock lock(stop_mu_);
  while (!stop_) {
    lock.unlock();
    Guarded([&] {
      Tick();
      if (beat_) beat_(true);
    });
    lock.lock();
    next += std::chrono::milliseconds(config_.interval_ms);
    if (next < Clock::now()) next = Clock::now();  // fell behind: do not burst
    while (!stop_cv_.wait_until(lock, WakeUp(next), [&] { return stop_; }) && Clock::now() < next) {
      lock.unlock();
      Guarded([&] { beat_(false); });  // only reached with a heartbeat period (WakeUp < next)
      lock.lock();
    }
  }
  lock.unlock();
  Guarded([&] { Tick(); });  // the final snapshot
  history_->LogExit();
}

void Collector::Stop() {
  std::lock_guard lock(stop_mu_);
  stop_ = true;
  stop_cv_.notify_all();
}

}  // namespace shmstats::daemon
