// SPDX-License-Identifier: Apache-2.0
#pragma once

// Command-line arguments as CLI11 should see them. "-inf", "-infinity" and "-nan"
// (any case) after a recording subcommand (inc, set, add, observe) are values, not
// options: CLI11 would take them for the short options -i or -n and report a missing
// VALUE instead of the real problem. The first of them is moved to the end behind a
// "--" (after any options that followed it), so that it reaches the value's parser
// and gets its own message.

#include <string>
#include <vector>

namespace shmstats::statsctl {

// argv[1..] so rearranged, in the reversed order CLI11's parse(vector) takes.
// After the `time` subcommand, everything behind the first "--" is the command to
// run, verbatim (its own options included): it goes to *command, not to CLI11.
std::vector<std::string> CliArgs(int argc, char** argv, std::vector<std::string>* command);

}  // namespace shmstats::statsctl
