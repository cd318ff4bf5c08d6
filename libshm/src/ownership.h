// SPDX-License-Identifier: Apache-2.0
#pragma once

// Checks made before trusting a segment's file: who owns it and who may write it
// (Open), and that it still has the size it was mapped with (every read pass); and
// whether the process owning a registration claim is gone.

#include <cstdint>
#include <string>

namespace shmstats::detail {

struct SegmentImpl;

// Throws Error(kPermission) when the segment file behind `fd` is owned by a user
// other than this process's effective user, root, the `shmstats` system user (uid
// below 1000: the package's daemon account, which creates the host's segment), or
// the user named by $SHMSTATS_SEGMENT_OWNER (a name or a uid), or when users outside
// its group may
// write it: such a segment may have been planted to take over the name.
void CheckOwnership(int fd, const std::string& path, const std::string& name);

// Throws Error(kCorrupt) when the segment's file is no longer as large as the
// mapping (truncated under us: touching the missing pages would be a SIGBUS).
void CheckMappedSize(const SegmentImpl& s);

// True when `pid` (a claim's owner) is known to be gone: kill(pid, 0) says ESRCH.
bool OwnerDead(uint32_t pid);

}  // namespace shmstats::detail
