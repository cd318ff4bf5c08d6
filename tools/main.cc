// SPDX-License-Identifier: Apache-2.0
// statsctl: wires the subcommands together; each lives in its own cmd_*.cc.

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "tools/args.h"
#include "tools/command.h"

using shmstats::statsctl::Exit;

namespace {

constexpr const char* kFooter = R"(Exit status:
  0 ok; 1 no metric matched or check found problems; 2 usage error;
  3 segment (or history database) missing, unreadable, incompatible or corrupt;
  4 segment full;
  5 metric exists with another type (or segment exists); 6 other system error.

Examples:
  statsctl list                      every metric, as a table
  statsctl list 'http_*' --json      as JSON, for jq
  statsctl inc jobs_done_total       count one, registering the counter on first use
  statsctl watch --interval 2        live values and rates)";

// Ends the process once the command's output is out. Tearing down the CLI11 options,
// the static objects and the mappings would cost more than the rest of a short
// command, and the kernel releases all of it (a recording is in shared memory already).
[[noreturn]] void Leave(int status) {
  std::cout.flush();
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace

int main(int argc, char** argv) {
  namespace sc = shmstats::statsctl;
  CLI::App app{"statsctl: read, record, reset and export shmstats metrics in shared memory",
               "statsctl"};
  app.footer(kFooter);
  // One line on stderr for parse errors too, like every other failure.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("statsctl: ") + e.what() + ": see statsctl --help\n";
  });
  app.fallthrough();
  app.set_version_flag("--version", SHMSTATS_VERSION);
  sc::GlobalOptions global;
  global.segment = "shmstats";
  app.add_option("--segment", global.segment,
                 "segment name in /dev/shm (default: $SHMSTATS_SEGMENT, else shmstats)")
      ->envname("SHMSTATS_SEGMENT");
  app.add_flag(
      "--json", global.json,
      "print one JSON document (docs/statsctl.schema.json; history: docs/history.schema.json)");

  sc::Runner run;
  // Building a subcommand's options costs more than the rest of a start: set up
  // only those the command line needs (one, as a rule).
  for (const sc::Subcommand& sub : sc::SubcommandsFor(argc, argv)) sub.setup(app, &run);
  // The global options work after any subcommand too (fallthrough), so every
  // subcommand's --help lists them. Their own storage: the top-level --segment's
  // environment default must not overwrite one given after the subcommand.
  std::string segment_after;
  sc::AddGlobalOptions(app, &segment_after, &global.json, &global.style);

  try {
    app.parse(sc::CliArgs(argc, argv, &sc::TimedCommand()));
    if (!segment_after.empty()) global.segment = segment_after;
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    Leave(code == 0 ? 0 : static_cast<int>(Exit::kUsage));
  }
  if (!run) {
    std::fprintf(stderr, "statsctl: no command given: see statsctl --help\n");
    Leave(static_cast<int>(Exit::kUsage));
  }
  try {
    Leave(static_cast<int>(run(global)));
  } catch (const sc::CommandError& e) {
    std::fprintf(stderr, "statsctl: %s\n", e.what());
    Leave(static_cast<int>(e.status()));
  } catch (const shmstats::Error& e) {
    std::fprintf(stderr, "statsctl: %s\n", e.what());
    Leave(static_cast<int>(sc::ExitFor(e.code())));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "statsctl: %s\n", e.what());
    Leave(static_cast<int>(Exit::kSystem));
  }
}
