// SPDX-License-Identifier: Apache-2.0
// statsctl remove: unlink the segment. Processes that mapped it keep their mapping.

#include <fmt/format.h>

#include "tools/json_output.h"

namespace shmstats::statsctl {
namespace {

struct RemoveOptions {
  bool force = false;
};

Exit RunRemove(const GlobalOptions& global, const RemoveOptions& opts) {
  bool removed = Segment::Remove(global.segment);
  if (!removed && !opts.force)
    throw CommandError(Exit::kSegment,
                       fmt::format("segment /dev/shm/{} does not exist: nothing to remove (use "
                                   "--force to ignore this)",
                                   global.segment));
  if (global.json) {
    nlohmann::json doc = JsonDocument(global);
    doc["removed"] = removed;
    PrintJson(doc);
  }
  return Exit::kOk;
}

}  // namespace

void SetupRemove(CLI::App& app, Runner* out) {
  auto opts = std::make_shared<RemoveOptions>();
  CLI::App* sub = app.add_subcommand("remove", "Remove (unlink) the segment");
  sub->add_flag("-f,--force", opts->force, "succeed even if the segment does not exist");
  sub->footer(R"(Producers that have it mapped keep recording into their (now unnamed)
copy; `statsctl watch` and shmstatsd re-attach when the segment is created again.

Examples:
  statsctl --segment myapp remove
  statsctl remove --force)");
  OnParsed(sub, opts, &RunRemove, out);
}

}  // namespace shmstats::statsctl
