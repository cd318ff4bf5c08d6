// SPDX-License-Identifier: Apache-2.0
// statsctl watch [PATTERN...]: values and per-second rates, refreshed every
// interval. Redraws the screen on a terminal; otherwise prints one block (or, with
// --json, one JSON document per line) per interval. Survives the segment being
// removed or re-created: it says so (watch_status.h), waits, and re-attaches.

#include <fmt/format.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <optional>
#include <thread>
#include <unordered_map>

#include "common/exposition.h"
#include "common/log_limiter.h"
#include "history/time.h"
#include "tools/json_output.h"
#include "tools/parse.h"
#include "tools/table.h"
#include "tools/watch_status.h"

namespace shmstats::statsctl {
namespace {

struct WatchOptions {
  std::vector<std::string> patterns;
  double interval = 1;
  int count = 0;  // blocks to print (waiting intervals included); 0: until interrupted
};

// The value a rate is computed from: counters and histogram counts.
std::optional<double> Monotonic(const MetricSnapshot& m) {
  if (m.type == MetricType::kCounter) return CounterValue(m);
  if (m.type == MetricType::kHistogram) return static_cast<double>(m.histogram.count);
  return std::nullopt;
}

// One series on the screen. Cells are display text; rate_sort is the rate (or -1).
struct Row {
  std::string series, type, value, p50, p99, rate;
  double rate_sort;
};

// The table of watch: fixed columns (a column only ever widens, so nothing moves
// between refreshes), numbers right-aligned, sorted by rate (fastest first; series
// without a rate after them, by name) or by name. On a terminal it is redrawn in
// place, clipped to the window (long series names end in "…").
class WatchView {
 public:
  void Draw(const std::string& title, std::vector<Row> rows, bool by_name, bool tty) {
    if (!by_name)
      std::stable_sort(rows.begin(), rows.end(),
                       [](const Row& a, const Row& b) { return a.rate_sort > b.rate_sort; });
    Row header{"SERIES", "TYPE", "VALUE", "P50", "P99", "RATE/S", 0};
    auto cells = [](const Row& r) {
      return std::array<const std::string*, 6>{&r.series, &r.type, &r.value,
                                               &r.p50,    &r.p99,  &r.rate};
    };
    for (const Row* r : {&header}) Widen(cells(*r));
    for (const Row& r : rows) Widen(cells(r));
    size_t cols = 0, lines = 0;
    if (tty) TerminalSize(&cols, &lines);
    size_t series_width = width_[0];
    if (cols > 0) {
      size_t rest = 0;
      for (size_t i = 1; i < width_.size(); ++i) rest += width_[i] + 2;
      series_width = std::min(series_width, std::max<size_t>(12, cols > rest ? cols - rest : 0));
    }
    std::string out = tty ? "\033[H" : "";
    auto line = [&](std::string text) {
      out += text;
      out += tty ? "\033[K\n" : "\n";
    };
    line(cols > 0 ? ClipToWidth(title, cols) : title);  // never wrapped: it would scroll
    // At most lines - 1 lines, so that the last newline never scrolls the screen.
    size_t shown = rows.size();
    if (lines > 4 && rows.size() > lines - 3) shown = lines - 4;
    line(Format(cells(header), series_width));
    for (size_t i = 0; i < shown; ++i) line(Format(cells(rows[i]), series_width));
    if (shown < rows.size())
      line(fmt::format("… {} more (narrow with a PATTERN)", rows.size() - shown));
    if (tty)
      out += "\033[J";
    else
      out += '\n';
    std::fwrite(out.data(), 1, out.size(), stdout);
  }

 private:
  void Widen(const std::array<const std::string*, 6>& cells) {
    for (size_t i = 0; i < cells.size(); ++i)
      width_[i] = std::max(width_[i], DisplayWidth(*cells[i]));
  }

  std::string Format(const std::array<const std::string*, 6>& cells, size_t series_width) const {
    std::string out = ClipToWidth(*cells[0], series_width);
    size_t used = DisplayWidth(out);
    out.append(series_width - used, ' ');
    for (size_t i = 1; i < cells.size(); ++i) {
      size_t w = DisplayWidth(*cells[i]);
      out.append(2, ' ');
      if (i == 1) {  // TYPE: left-aligned
        out += *cells[i];
        out.append(width_[i] - w, ' ');
      } else {
        out.append(width_[i] - w, ' ');
        out += *cells[i];
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

  std::array<size_t, 6> width_{};
};

class Watcher {
 public:
  Watcher(const GlobalOptions& global, const WatchOptions& opts, WatchStatus& status)
      : global_(global),
        opts_(opts),
        selectors_(ParseSelectors(opts.patterns)),
        tty_(!global.json && isatty(STDOUT_FILENO)),
        status_(status) {}

  void Tick() {
    if (segment_ && segment_->Replaced()) {
      status_.Say(
          fmt::format("statsctl: segment /dev/shm/{} was removed or re-created; "
                      "waiting to re-attach",
                      global_.segment));
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
  // A segment truncated or corrupted under us: said at most once a minute (in the
  // status line of the full-screen view: always, in place), and re-attached once a
  // valid one is back.
  void Detach(const std::string& why) {
    std::string text = fmt::format("statsctl: {}; waiting for a valid segment to re-attach", why);
    if (tty_) {
      status_.Say(text);
    } else if (auto line = limiter_.Admit("corrupt", text)) {
      status_.Say(*line);
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
        status_.Say(fmt::format("statsctl: segment /dev/shm/{} does not exist; waiting for it",
                                global_.segment));
      waiting_said_ = true;
      detached_ = true;
      return false;
    }
    if (detached_)
      status_.Say(fmt::format("statsctl: re-attached to segment /dev/shm/{}", global_.segment));
    detached_ = waiting_said_ = false;
    return true;
  }

  void Print(const Snapshot& snap) {
    double elapsed = previous_taken_ns_ ? (snap.taken_unix_ns - previous_taken_ns_) / 1e9 : 0;
    std::unordered_map<std::string, double> current;
    nlohmann::json doc = JsonDocument(global_);
    doc["taken_unix_ns"] = snap.taken_unix_ns;
    nlohmann::json& metrics = doc["metrics"] = nlohmann::json::array();
    std::vector<Row> rows;
    for (const MetricSnapshot* m : Sorted(snap.metrics)) {
      if (!AnyMatches(selectors_, *m)) continue;
      std::string key = common::SeriesName(*m) + LabelsText(m->labels);
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
        rows.push_back(MakeRow(*m, std::move(key), rate));
      }
    }
    previous_ = std::move(current);
    previous_taken_ns_ = snap.taken_unix_ns;
    if (global_.json) {
      std::puts(doc.dump().c_str());  // one document per line
    } else {
      std::string title =
          fmt::format("--- segment {}  {}  every {}s  {} series  by {}", global_.segment,
                      history::FormatRfc3339(static_cast<int64_t>(snap.taken_unix_ns / 1'000'000)),
                      opts_.interval, rows.size(), by_name_ ? "name" : "rate");
      if (tty_) title += "  (s: sort, q: quit)";
      view_.Draw(title, std::move(rows), by_name_, tty_);
      status_.Redraw();  // the view cleared the screen below it
    }
    std::fflush(stdout);
  }

 public:
  void ToggleSort() { by_name_ = !by_name_; }
  bool Waiting() const { return !segment_.has_value(); }

 private:
  Row MakeRow(const MetricSnapshot& m, std::string series, std::optional<double> rate) const {
    const NumberStyle& st = global_.style;
    // A counter's rate is in its unit per second; a histogram's counts observations.
    std::string_view rate_unit = m.type == MetricType::kCounter ? m.unit : std::string_view();
    Row r{std::move(series),
          std::string(TypeName(m.type)),
          "",
          "",
          "",
          rate ? HumanNumber(*rate, rate_unit, st) : "-",
          rate ? *rate : -1};
    if (m.type == MetricType::kHistogram) {
      r.value = fmt::format_int(m.histogram.count).str();
      r.p50 = HumanNumber(Quantile(m.histogram, 0.5), m.unit, st);
      r.p99 = HumanNumber(Quantile(m.histogram, 0.99), m.unit, st);
    } else {
      r.value = ValueText(m, st);
    }
    return r;
  }

  const GlobalOptions& global_;
  const WatchOptions& opts_;
  std::vector<common::Selector> selectors_;
  bool tty_;
  WatchStatus& status_;
  std::optional<Segment> segment_;
  common::LogLimiter limiter_;
  bool detached_ = false;
  bool waiting_said_ = false;
  std::unordered_map<std::string, double> previous_;
  uint64_t previous_taken_ns_ = 0;
  bool by_name_ = false;
  WatchView view_;
};

volatile std::sig_atomic_t g_stop = 0;

// The terminal of a full-screen watch: the alternate screen without a cursor, and
// keys read one by one (no echo); everything restored when it ends.
class Screen {
 public:
  explicit Screen(bool on) : on_(on) {
    if (!on_) return;
    keys_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (keys_) {
      termios raw = saved_;
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 0;
      raw.c_cc[VTIME] = 0;
      tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    }
    std::fputs("\033[?1049h\033[?25l\033[H\033[2J", stdout);
    std::fflush(stdout);
  }
  ~Screen() {
    if (!on_) return;
    std::fputs("\033[?25h\033[?1049l", stdout);
    std::fflush(stdout);
    if (keys_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  Screen(const Screen&) = delete;
  Screen& operator=(const Screen&) = delete;

  // Waits up to `seconds`; returns the key pressed, or 0.
  char Wait(double seconds) const {
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    int ms = static_cast<int>(seconds * 1000);
    if (poll(&fd, keys_ ? 1 : 0, ms) > 0 && keys_) {
      char c = 0;
      if (read(STDIN_FILENO, &c, 1) == 1) return c;
    }
    return 0;
  }

 private:
  bool on_;
  bool keys_ = false;
  termios saved_{};
};

Exit RunWatch(const GlobalOptions& global, const WatchOptions& opts) {
  bool tty = !global.json && isatty(STDOUT_FILENO);
  // Ctrl-C and SIGTERM end the loop, so that the terminal is restored.
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  Screen screen(tty);
  WatchStatus status(global.segment, tty);
  Watcher watcher(global, opts, status);
  for (int block = 0; (opts.count == 0 || block < opts.count) && !g_stop; ++block) {
    if (block > 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(opts.interval);
      bool redraw = false;
      while (!g_stop && !redraw) {
        double left =
            std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
        if (left <= 0) break;
        char key = screen.Wait(left);
        if (key == 'q' || key == 'Q') g_stop = 1;
        if (key == 's' || key == 'S') {
          watcher.ToggleSort();
          redraw = true;
        }
      }
      if (g_stop) break;
    }
    watcher.Tick();
    status.Waiting(watcher.Waiting());
  }
  return Exit::kOk;
}

}  // namespace

void SetupWatch(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<WatchOptions>();
  CLI::App* sub = app.add_subcommand("watch", "Live view of values and per-second rates");
  sub->add_option("PATTERN", opts->patterns, "show only metrics matching a PATTERN");
  sub->add_option("-i,--interval", opts->interval,
                  "seconds (1.5) or a duration (500ms, 2s, 1m30s) between refreshes (default 1)")
      ->transform(CLI::Validator(
          [](std::string& s) {
            double v = 0;
            if (!CLI::detail::lexical_cast(s, v)) {
              try {
                v = static_cast<double>(history::ParseDuration(s)) / 1000;
              } catch (const Error&) {
                return std::string("give seconds (1.5) or a duration (500ms, 2s, 1m30s)");
              }
              s = fmt::format("{}", v);
            }
            return v >= 0.001 && v <= 86400 ? std::string()
                                            : "give seconds between 0.001 and 86400";
          },
          "SECONDS"));
  sub->add_option("-n,--count", opts->count,
                  "stop after N refreshes, waiting ones included (default: until interrupted)")
      ->check(CLI::Range(1, 1 << 30));
  sub->footer(R"(Rates are per second, for counters and histogram counts, since the previous
refresh. Series are sorted by rate, fastest first (then by name); columns keep
their place. On a terminal the view is redrawn in place on the whole screen
(keys: s sorts by rate or name, q quits); otherwise one block is printed per
interval (with --json: one JSON document per line). If the segment is removed or
re-created, truncated or corrupt, watch says so (in the full-screen view on its
bottom line; otherwise on stderr, a repeated problem at most once a minute),
waits for a valid segment, counting the seconds on a terminal, and re-attaches.

Examples:
  statsctl watch
  statsctl watch 'tool_*' --interval 5
  statsctl watch --json --count 3 | jq -c '.metrics[] | {name, rate}')");
  OnParsed(sub, opts, &RunWatch, out);
}

}  // namespace shmstats::statsctl
