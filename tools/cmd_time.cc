// SPDX-License-Identifier: Apache-2.0
// statsctl time NAME [--label k=v]... -- COMMAND [ARGS]: run a command (a cron job,
// a script step), time it and count how it ended, into four series named after NAME.
//
// The series are registered before the command starts, so a bad name or a type clash
// fails without running anything. The command inherits statsctl's standard streams,
// environment and process group: its output passes through untouched. statsctl exits
// with the command's status (128+N when a signal ended it), as a shell does.

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "tools/record.h"

extern char** environ;

namespace shmstats::statsctl {
namespace {

struct TimeOptions {
  std::string name;                 // NAME, or NAME{label="value",...}
  std::vector<std::string> labels;  // --label k=v
  std::string help;                 // --help-text
};

// The series of a timed job, sharing NAME's labels; NAME_failures_total{reason=...}
// is registered for the reason a run failed, once it has.
struct JobSeries {
  Histogram duration;  // NAME_duration_seconds: every run that started
  Counter runs;        // NAME_runs_total: every attempt, started or not
  Gauge last_success;  // NAME_last_success_timestamp_seconds: unix time of the last success
};

Labels ParseLabelOptions(const std::vector<std::string>& texts, Labels labels) {
  for (const auto& text : texts) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      throw CommandError(Exit::kUsage, fmt::format("--label '{}' is not NAME=VALUE: write it as "
                                                   "--label job=backup",
                                                   text));
    labels.emplace_back(text.substr(0, eq), text.substr(eq + 1));
  }
  return labels;
}

MetricSpec SpecOf(const std::string& name, const Labels& labels, std::string help,
                  std::string unit) {
  return MetricSpec{name, labels, std::move(help), std::move(unit)};
}

// "TERM" for SIGTERM; the number for a signal without a name.
std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? abbrev : std::to_string(sig);
}

std::atomic<pid_t> g_child{0};

// SIGTERM and SIGHUP sent to statsctl (a cron timeout, a logout) are passed on to the
// command, which decides what they mean; statsctl then reports how it ended.
extern "C" void ForwardSignal(int sig) {
  pid_t child = g_child.load();
  if (child > 0) kill(child, sig);
}

// Runs the command with the caller's streams; returns its wait status, or -1 with
// errno set when it could not be started. While it runs, SIGINT and SIGQUIT are
// ignored here (the terminal delivers them to the command too, as system(3) does)
// and SIGTERM and SIGHUP are forwarded to it. A signal statsctl inherited as ignored
// (nohup, a background job) stays ignored, in statsctl and in the command.
int RunCommand(const std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  struct Disposition {
    int sig;
    void (*handler)(int);
    struct sigaction old;
  };
  Disposition dispositions[] = {{SIGINT, SIG_IGN, {}},
                                {SIGQUIT, SIG_IGN, {}},
                                {SIGTERM, ForwardSignal, {}},
                                {SIGHUP, ForwardSignal, {}}};
  sigset_t child_defaults;  // what the command gets back as SIG_DFL
  sigemptyset(&child_defaults);
  for (auto& d : dispositions) {
    sigaction(d.sig, nullptr, &d.old);
    if (d.old.sa_handler == SIG_IGN) continue;
    struct sigaction now {};
    now.sa_handler = d.handler;
    sigemptyset(&now.sa_mask);
    sigaction(d.sig, &now, nullptr);
    sigaddset(&child_defaults, d.sig);
  }
  auto restore = [&] {
    for (const auto& d : dispositions) sigaction(d.sig, &d.old, nullptr);
  };

  // SIGTERM and SIGHUP wait (blocked) until the child's pid is known, so that one
  // arriving during the spawn is forwarded too; the command starts with the old mask.
  sigset_t forwarded, old_mask;
  sigemptyset(&forwarded);
  sigaddset(&forwarded, SIGTERM);
  sigaddset(&forwarded, SIGHUP);
  sigprocmask(SIG_BLOCK, &forwarded, &old_mask);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setsigdefault(&attr, &child_defaults);
  posix_spawnattr_setsigmask(&attr, &old_mask);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, argv[0], nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err == 0) g_child.store(pid);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  if (err != 0) {
    restore();
    errno = err;
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child.store(0);
  restore();
  return status;
}

Exit RunTime(const GlobalOptions& global, const TimeOptions& opts) {
  Series base = ParseSeries(opts.name);
  Labels labels = ParseLabelOptions(opts.labels, base.labels);
  const std::vector<std::string>& command = TimedCommand();
  if (command.empty())
    throw CommandError(Exit::kUsage,
                       "no command to run: put it after --, as in statsctl time backup -- "
                       "/usr/local/bin/backup --full");
  const std::string& name = base.name;
  Segment segment = OpenForRecording(global);
  auto failures = [&](const std::string& reason) {
    Labels l = labels;
    l.emplace_back("reason", reason);
    return RegisterOrExplain(
        [&] {
          return segment.RegisterCounter(SpecOf(name + "_failures_total", l,
                                                "Runs that failed, by exit status or signal", ""));
        },
        "time records into NAME_failures_total, a counter");
  };

  JobSeries job;
  job.duration = RegisterOrExplain(
      [&] {
        return segment.RegisterHistogram(
            SpecOf(name + "_duration_seconds", labels,
                   opts.help.empty() ? "Wall-clock duration of each run" : opts.help, "seconds"),
            ExponentialBuckets{});
      },
      "time records into NAME_duration_seconds, a histogram with the default exponential buckets");
  job.runs = RegisterOrExplain(
      [&] {
        return segment.RegisterCounter(
            SpecOf(name + "_runs_total", labels, "Runs started (or attempted)", ""));
      },
      "time records into NAME_runs_total, a counter");
  job.last_success = RegisterOrExplain(
      [&] {
        return segment.RegisterGauge(SpecOf(name + "_last_success_timestamp_seconds", labels,
                                            "Unix time at which the last successful run ended",
                                            "seconds"));
      },
      "time records into NAME_last_success_timestamp_seconds, a gauge");

  auto start = std::chrono::steady_clock::now();
  int status = RunCommand(command);
  auto end = std::chrono::steady_clock::now();
  job.runs.Inc();
  if (status < 0) {
    int err = errno;
    failures("exec").Inc();
    throw CommandError(Exit::kSystem, fmt::format("cannot run '{}': {}: check the command's "
                                                  "name and PATH",
                                                  command[0], strerror(err)));
  }
  job.duration.Observe(std::chrono::duration<double>(end - start).count());
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    failures("signal_" + SignalName(sig)).Inc();
    return static_cast<Exit>(128 + sig);
  }
  int code = WEXITSTATUS(status);
  if (code != 0) {
    failures("exit_" + std::to_string(code)).Inc();
    return static_cast<Exit>(code);
  }
  job.last_success.Set(
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  return Exit::kOk;
}

}  // namespace

std::vector<std::string>& TimedCommand() {
  static std::vector<std::string> command;
  return command;
}

void SetupTime(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<TimeOptions>();
  CLI::App* sub = app.add_subcommand(
      "time", "Run a command, record its duration and count its runs and failures");
  sub->add_option("NAME", opts->name, "series name prefix, optionally with {label=\"value\",...}")
      ->required();
  sub->add_option("--label", opts->labels, "label NAME=VALUE for every series (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--help-text", opts->help, "help text of NAME_duration_seconds");
  sub->footer(R"(Records, under NAME and its labels:
  NAME_duration_seconds                 histogram of each run's wall-clock time
  NAME_runs_total                       counter of runs
  NAME_failures_total{reason=...}       counter of failed runs: reason exit_N, signal_SIG,
                                        or exec (the command could not be started)
  NAME_last_success_timestamp_seconds   gauge: unix time of the last run that exited 0
The command keeps statsctl's stdin, stdout and stderr. statsctl exits with its
status, 128+N if signal N ended it, or 6 if it could not be started. SIGTERM and
SIGHUP sent to statsctl are passed on to the command.

Examples:
  statsctl time backup --label host=db1 -- /usr/local/bin/backup --full
  statsctl time 'nightly_export{job="cron"}' -- statsctl history export --format csv)");
  OnParsed(sub, opts, &RunTime, out);
}

}  // namespace shmstats::statsctl
