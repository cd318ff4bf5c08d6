// statsctl watch [PATTERN...]: values and per-second rates, refreshed every
// interval. Redraws the screen on a terminal; otherwise prints one block (or, with
// --json, one JSON document per line) per interval. Survives the segment being
// removed or re-created: it says so on stderr, waits, and re-attaches.

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>
#include <unordered_map>

#include "exposition.h"
#include "history_time.h"
#include "log_limiter.h"
#include "util.h"

namespace shmstats::statsctl {
namespace {

struct WatchOptions {
  std::vector<std::string> patterns;
  double interval = 1;
  int count = 0;  // blocks to print (waiting intervals included); 0: until interrupted
};

// The value a rate is computed from: counters and histogram counts.
std::optional<double> Monotonic(const MetricSnapshot& m) {
  if (m.type == MetricType::kCounter) return static_cast<double>(m.counter);
  if (m.type == MetricType::kHistogram) return static_cast<double>(m.histogram.count);
  return std::nullopt;
}

class Watcher {
 public:
  Watcher(const GlobalOptions& global, const WatchOptions& opts)
      : global_(global),
        opts_(opts),
        selectors_(ParseSelectors(opts.patterns)),
        tty_(!global.json && isatty(STDOUT_FILENO)) {}

  void Tick() {
    if (segment_ && segment_->Replaced()) {
      std::fprintf(stderr,
                   "statsctl: segment /dev/shm/%s was removed or re-created; waiting "
                   "to re-attach\n",
                   global_.segment.c_str());
      segment_.reset();
      detached_ = true;
      previous_.clear();
    }
    if (!segment_ && !Attach()) return;
    Snapshot snap;
    try {
      snap = segment_->Read();
    } catch (const Error& e) {
      if (e.code() != Errc::kCorrupt) throw;
      Detach(e.what());
      return;
    }
    Print(snap);
  }

 private:
  // A segment truncated or corrupted under us: said at most once a minute, and
  // re-attached once a valid one is back.
  void Detach(const std::string& why) {
    if (auto line = limiter_.Admit("corrupt", fmt::format("statsctl: {}; waiting for a valid "
                                                          "segment to re-attach",
                                                          why))) {
      std::fprintf(stderr, "%s\n", line->c_str());
    }
    segment_.reset();
    detached_ = true;
    previous_.clear();
  }

  bool Attach() {
    try {
      segment_ = Segment::Open(global_.segment, Access::kReadOnly);
    } catch (const Error& e) {
      if (e.code() == Errc::kCorrupt) {
        Detach(e.what());
        return false;
      }
      if (e.code() != Errc::kNotFound && e.code() != Errc::kTimeout) throw;
      if (!waiting_said_)
        std::fprintf(stderr, "statsctl: segment /dev/shm/%s does not exist; waiting for it\n",
                     global_.segment.c_str());
      waiting_said_ = true;
      detached_ = true;
      return false;
    }
    if (detached_)
      std::fprintf(stderr, "statsctl: re-attached to segment /dev/shm/%s\n",
                   global_.segment.c_str());
    detached_ = waiting_said_ = false;
    return true;
  }

  void Print(const Snapshot& snap) {
    double elapsed = previous_taken_ns_ ? (snap.taken_unix_ns - previous_taken_ns_) / 1e9 : 0;
    std::unordered_map<std::string, double> current;
    nlohmann::json doc = JsonDocument(global_);
    doc["taken_unix_ns"] = snap.taken_unix_ns;
    nlohmann::json& metrics = doc["metrics"] = nlohmann::json::array();
    Table table({"NAME", "LABELS", "TYPE", "VALUE", "RATE/S"});
    for (const MetricSnapshot* m : Sorted(snap.metrics)) {
      if (!AnyMatches(selectors_, *m)) continue;
      std::string key = m->name + LabelsText(m->labels);
      std::optional<double> rate;
      if (auto v = Monotonic(*m)) {
        current[key] = *v;
        auto prev = previous_.find(key);
        if (prev != previous_.end() && elapsed > 0 && *v >= prev->second)
          rate = (*v - prev->second) / elapsed;
      }
      if (global_.json) {
        nlohmann::json j = common::ToJson(*m, /*with_buckets=*/false);
        j["rate"] = rate ? nlohmann::json(*rate) : nlohmann::json(nullptr);
        metrics.push_back(std::move(j));
      } else {
        table.Add({m->name, LabelsText(m->labels), std::string(TypeName(m->type)), ValueText(*m),
                   rate ? fmt::format("{:.2f}", *rate) : "-"});
      }
    }
    previous_ = std::move(current);
    previous_taken_ns_ = snap.taken_unix_ns;
    if (global_.json) {
      std::puts(doc.dump().c_str());  // one document per line
    } else {
      if (tty_) std::fputs("\033[H\033[2J", stdout);
      std::printf(
          "--- segment %s  %s  every %gs\n", global_.segment.c_str(),
          history::FormatRfc3339(static_cast<int64_t>(snap.taken_unix_ns / 1'000'000)).c_str(),
          opts_.interval);
      table.Print(stdout);
      if (!tty_) std::putchar('\n');
    }
    std::fflush(stdout);
  }

  const GlobalOptions& global_;
  const WatchOptions& opts_;
  std::vector<common::Selector> selectors_;
  bool tty_;
  std::optional<Segment> segment_;
  common::LogLimiter limiter_;
  bool detached_ = false;
  bool waiting_said_ = false;
  std::unordered_map<std::string, double> previous_;
  uint64_t previous_taken_ns_ = 0;
};

Exit RunWatch(const GlobalOptions& global, const WatchOptions& opts) {
  Watcher watcher(global, opts);
  for (int block = 0; opts.count == 0 || block < opts.count; ++block) {
    if (block > 0) std::this_thread::sleep_for(std::chrono::duration<double>(opts.interval));
    watcher.Tick();
  }
  return Exit::kOk;
}

}  // namespace

void SetupWatch(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<WatchOptions>();
  CLI::App* sub = app.add_subcommand("watch", "Live view of values and per-second rates");
  sub->add_option("PATTERN", opts->patterns, "show only metrics matching a PATTERN");
  sub->add_option("-i,--interval", opts->interval, "seconds between refreshes (default 1)")
      ->check(CLI::Validator(
          [](std::string& s) {
            double v = 0;
            return CLI::detail::lexical_cast(s, v) && v >= 0.001 && v <= 86400
                       ? std::string()
                       : "give seconds between 0.001 and 86400";
          },
          "SECONDS"));
  sub->add_option("-n,--count", opts->count,
                  "stop after N refreshes, waiting ones included (default: until interrupted)")
      ->check(CLI::Range(1, 1 << 30));
  sub->footer(R"(Rates are per second, for counters and histogram counts, since the previous
refresh. On a terminal the screen is redrawn; otherwise one block is printed per
interval (with --json: one JSON document per line). If the segment is removed or
re-created, truncated or corrupt, watch says so on stderr (a repeated problem at
most once a minute), waits for a valid segment and re-attaches.

Examples:
  statsctl watch
  statsctl watch 'tool_*' --interval 5
  statsctl watch --json --count 3 | jq -c '.metrics[] | {name, rate}')");
  OnParsed(sub, opts, &RunWatch, out);
}

}  // namespace shmstats::statsctl
