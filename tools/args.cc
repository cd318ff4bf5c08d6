// SPDX-License-Identifier: Apache-2.0
#include "tools/args.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace shmstats::statsctl {
namespace {

bool NonFiniteWithSign(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s == "-inf" || s == "-infinity" || s == "-nan";
}

}  // namespace

std::vector<std::string> CliArgs(int argc, char** argv, std::vector<std::string>* command) {
  std::vector<std::string> args;
  std::optional<std::string> value;
  bool recording = false, dashes = false, time = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "inc" || a == "set" || a == "add" || a == "observe") recording = true;
    if (a == "time" && !dashes) time = true;
    if (a == "--" && time) {
      command->assign(argv + i + 1, argv + argc);
      break;
    }
    if (a == "--") dashes = true;
    if (recording && !dashes && !value && NonFiniteWithSign(a)) {
      value = std::move(a);  // moved behind "--", after any options that follow it
    } else {
      args.push_back(std::move(a));
    }
  }
  if (value) {
    args.push_back("--");
    args.push_back(std::move(*value));
  }
  std::reverse(args.begin(), args.end());
  return args;
}

}  // namespace shmstats::statsctl
