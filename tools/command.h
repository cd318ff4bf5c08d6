// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every statsctl subcommand shares: the global options, the exit statuses and
// the way a subcommand is wired into main.cc.
//
// A subcommand lives in tools/cmd_<name>.cc with an options struct, a Setup<Name>
// function (adds the CLI11 subcommand and its options, with examples in its
// footer) and a Run<Name> function. Setup registers, through OnParsed(), the Runner
// that main() calls once the whole command line parsed. Run functions report
// failure by throwing CommandError (or shmstats::Error, which main maps with
// ExitFor); they print one JSON document when GlobalOptions::json is set.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "shmstats/error.h"
#include "tools/human.h"

namespace shmstats::statsctl {

// Exit statuses, documented in man/statsctl.1 (EXIT STATUS). Every failure also
// prints one line on stderr: "statsctl: <what was wrong>: <what to do>".
enum class Exit : int {
  kOk = 0,
  kNotFound = 1,  // no metric matched, or `check` found problems
  kUsage = 2,     // bad command line: option, selector, name, label, value, NaN/Inf
  kSegment = 3,   // segment (or history database) missing, unreadable, incompatible, corrupt
  kFull = 4,      // the segment has no room for another metric
  kConflict = 5,  // metric exists with another type or buckets; segment already exists
  kSystem = 6,    // any other operating-system failure
};

// The version of every JSON document statsctl prints (the top-level "version"
// field; docs/statsctl.schema.json). Bumped only on an incompatible change.
inline constexpr int kJsonVersion = 1;

struct GlobalOptions {
  std::string segment;  // --segment, default $SHMSTATS_SEGMENT or "shmstats"
  bool json = false;    // --json: one JSON document on stdout
  NumberStyle style;    // --precision N, --raw: numbers in tables (list get reset watch history)
};

// A failure that is the user's to fix; main prints "statsctl: " + what() and
// returns status.
class CommandError : public std::runtime_error {
 public:
  CommandError(Exit status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  Exit status() const noexcept { return status_; }

 private:
  Exit status_;
};

// The exit status for a library error (kInvalidArgument -> kUsage, kNotFound of a
// segment -> kSegment, kFull -> kFull, ...).
Exit ExitFor(Errc code);

// Adds --segment (into *segment) and --json (into *json) to every subcommand of
// `app`, nested ones included, so that their --help shows them.
// The commands that print tables also get --precision and --raw (into *style).
void AddGlobalOptions(CLI::App& app, std::string* segment, bool* json, NumberStyle* style);

// The action main() runs after parsing succeeded.
using Runner = std::function<Exit(const GlobalOptions&)>;

// Makes `sub`'s parse callback store a Runner calling run(global, *options).
template <class Options>
void OnParsed(CLI::App* sub, std::shared_ptr<Options> options,
              Exit (*run)(const GlobalOptions&, const Options&), Runner* out) {
  sub->callback([options, run, out] {
    *out = [options, run](const GlobalOptions& g) { return run(g, *options); };
  });
}

// One per subcommand file; main.cc calls those in kSubcommands.
void SetupList(CLI::App& app, Runner* out);
void SetupGet(CLI::App& app, Runner* out);
void SetupReset(CLI::App& app, Runner* out);
void SetupDelete(CLI::App& app, Runner* out);
void SetupInc(CLI::App& app, Runner* out);
void SetupSet(CLI::App& app, Runner* out);
void SetupAdd(CLI::App& app, Runner* out);
void SetupObserve(CLI::App& app, Runner* out);
void SetupInfo(CLI::App& app, Runner* out);
void SetupCreate(CLI::App& app, Runner* out);
void SetupRemove(CLI::App& app, Runner* out);
void SetupCheck(CLI::App& app, Runner* out);
void SetupExport(CLI::App& app, Runner* out);
void SetupWatch(CLI::App& app, Runner* out);
void SetupHistory(CLI::App& app, Runner* out);  // tools/cmd_history.cc (daemon history)
void SetupTime(CLI::App& app, Runner* out);     // tools/cmd_time.cc
void SetupPs(CLI::App& app, Runner* out);       // tools/cmd_ps.cc
struct Subcommand {
  const char* name;
  void (*setup)(CLI::App& app, Runner* out);
};
// Every subcommand, in the order --help lists them.
inline constexpr Subcommand kSubcommands[] = {
    {"list", SetupList},     {"get", SetupGet},         {"reset", SetupReset},
    {"delete", SetupDelete}, {"inc", SetupInc},         {"set", SetupSet},
    {"add", SetupAdd},       {"observe", SetupObserve}, {"info", SetupInfo},
    {"create", SetupCreate}, {"remove", SetupRemove},   {"check", SetupCheck},
    {"export", SetupExport}, {"watch", SetupWatch},     {"history", SetupHistory},
    {"time", SetupTime},     {"ps", SetupPs},
};
// The subcommands main() must set up to parse argv: the one its first word (neither
// an option nor the value of the global --segment) names; every one if that word
// names none (CLI11 then says what is wrong) or if there is no word but a --help;
// none for --version or no command at all.
std::span<const Subcommand> SubcommandsFor(int argc, char** argv);
// The command `statsctl time` runs: what followed its "--" (see CliArgs).
std::vector<std::string>& TimedCommand();

}  // namespace shmstats::statsctl
