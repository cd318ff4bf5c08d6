// SPDX-License-Identifier: Apache-2.0
#include "segment_options.h"

#include <fmt/format.h>
#include <grp.h>

#include <charconv>
#include <vector>

#include "shmstats/error.h"

namespace shmstats::common {

SegmentOptions ParseSegmentOptions(uint32_t max_metrics, uint32_t max_slots,
                                   const std::string& mode, const std::string& group) {
  SegmentOptions s;
  s.max_metrics = max_metrics;
  s.max_slots = max_slots;
  unsigned bits = 0;
  auto [end, ec] = std::from_chars(mode.data(), mode.data() + mode.size(), bits, 8);
  if (mode.empty() || ec != std::errc() || end != mode.data() + mode.size() || bits > 07777)
    throw Error(
        Errc::kInvalidArgument,
        fmt::format("mode '{}' is not an octal permission mode: write e.g. 0640 or 0660", mode));
  s.mode = bits;
  if (!group.empty()) {
    gid_t gid = 0;
    auto [gend, gec] = std::from_chars(group.data(), group.data() + group.size(), gid);
    if (gec == std::errc() && gend == group.data() + group.size()) {
      s.group = gid;
    } else {
      struct group entry, *found = nullptr;
      std::vector<char> buffer(16384);
      if (getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
        throw Error(
            Errc::kInvalidArgument,
            fmt::format("no group named '{}': give a group name or number from /etc/group", group));
      s.group = found->gr_gid;
    }
  }
  return s;
}

}  // namespace shmstats::common
