// SPDX-License-Identifier: Apache-2.0
#include "tools/segment_access.h"

#include "tools/json_output.h"

namespace shmstats::statsctl {

Segment OpenSegment(const GlobalOptions& global, Access access) {
  return Segment::Open(global.segment, access);
}

Snapshot ReadOrPrintEmpty(const GlobalOptions& global, const nlohmann::json& head) {
  try {
    return OpenSegment(global, Access::kReadOnly).Read();
  } catch (const Error&) {
    if (global.json) {
      nlohmann::json doc = head;
      doc["metrics"] = nlohmann::json::array();
      PrintJson(doc);
    }
    throw;
  }
}

}  // namespace shmstats::statsctl
