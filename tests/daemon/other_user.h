// SPDX-License-Identifier: Apache-2.0
#pragma once

// For tests that act as another local user (root only): a forked child becomes `uid`
// with `gid` as its only group, as a member of a segment's group would be.

#include <grp.h>
#include <unistd.h>

namespace shmstats::testing {

// Returns false (errno set) if the switch failed; the caller then _exits.
inline bool BecomeUser(uid_t uid, gid_t gid) {
  const gid_t groups[] = {gid};
  return setgroups(1, groups) == 0 && setresgid(gid, gid, gid) == 0 &&
         setresuid(uid, uid, uid) == 0;
}

}  // namespace shmstats::testing
