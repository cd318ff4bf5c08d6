// SPDX-License-Identifier: Apache-2.0
#pragma once

// Backfilling an OpenMetrics export with the real promtool, as an operator would.

#include <cstdlib>
#include <fstream>
#include <string>

#include "daemon_harness.h"

namespace shmstats::history::test {

// Empty when `promtool tsdb create-blocks-from openmetrics` imports the text (into
// dir/blocks); promtool's output otherwise.
inline std::string PromtoolImport(const std::string& text, const shmstats::testing::TempDir& dir) {
  std::ofstream(dir / "x.om") << text;
  std::string cmd = std::string(PROMTOOL_PATH) + " tsdb create-blocks-from openmetrics " +
                    (dir / "x.om") + " " + (dir / "blocks") + " >" + (dir / "promtool.log") +
                    " 2>&1";
  return std::system(cmd.c_str()) == 0 ? "" : shmstats::testing::ReadFile(dir / "promtool.log");
}

}  // namespace shmstats::history::test
