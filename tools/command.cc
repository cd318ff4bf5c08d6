// SPDX-License-Identifier: Apache-2.0
#include "tools/command.h"

#include <cstring>

namespace shmstats::statsctl {

Exit ExitFor(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
      return Exit::kUsage;
    case Errc::kNotFound:  // the library's only "not found" is a missing segment
    case Errc::kIncompatible:
    case Errc::kCorrupt:
    case Errc::kPermission:
    case Errc::kTimeout:
      return Exit::kSegment;
    case Errc::kFull:
      return Exit::kFull;
    case Errc::kAlreadyExists:
    case Errc::kTypeMismatch:
      return Exit::kConflict;
    case Errc::kSystem:
      return Exit::kSystem;
  }
  return Exit::kSystem;
}

void AddGlobalOptions(CLI::App& app, std::string* segment, bool* json, NumberStyle* style) {
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->add_option("--segment", *segment, "segment name in /dev/shm (as before the command)");
    sub->add_flag("--json", *json, "print one JSON document (as before the command)");
    const std::string& name = sub->get_name();
    bool tables =
        name == "list" || name == "get" || name == "reset" || name == "watch" || name == "history";
    if (tables && app.get_parent() == nullptr) {
      sub->add_option("--precision", style->precision,
                      "significant digits of numbers in tables (default 4)")
          ->check(CLI::Range(1, 17));
      sub->add_flag("--raw", style->raw,
                    "numbers in tables with every digit and the bare unit, as in --json");
    }
    AddGlobalOptions(*sub, segment, json, style);
  }
}

std::span<const Subcommand> SubcommandsFor(int argc, char** argv) {
  bool help = false;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--segment") == 0) {
      ++i;  // its value
      continue;
    }
    if (arg[0] == '-') {
      help = help || std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0;
      continue;
    }
    for (const Subcommand& sub : kSubcommands)
      if (std::strcmp(sub.name, arg) == 0) return {&sub, 1};
    return kSubcommands;
  }
  return help ? std::span<const Subcommand>(kSubcommands) : std::span<const Subcommand>();
}

}  // namespace shmstats::statsctl
