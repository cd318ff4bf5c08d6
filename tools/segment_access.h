// SPDX-License-Identifier: Apache-2.0
#pragma once

// How statsctl's subcommands open and read the segment.
// Errors: shmstats::Error from the library (main maps it to an exit status).

#include <nlohmann/json.hpp>

#include "shmstats/shmstats.h"
#include "tools/command.h"

namespace shmstats::statsctl {

Segment OpenSegment(const GlobalOptions& global, Access access);

// Reads the segment read-only. When that fails and --json is set, first prints
// `head` with "metrics": [] so that a script piping into jq always gets a document
// (the exit status, 3, says the segment was the problem); then rethrows.
Snapshot ReadOrPrintEmpty(const GlobalOptions& global, const nlohmann::json& head);

// Prints what `statsctl info` shows (cmd_info.cc); `create` shows it too.
Exit PrintInfo(const GlobalOptions& global, const Segment& segment);

}  // namespace shmstats::statsctl
