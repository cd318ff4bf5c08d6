// SPDX-License-Identifier: Apache-2.0
#include "ownership.h"

#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "segment_impl.h"
#include "shmstats/error.h"

namespace shmstats::detail {
namespace {

std::string UserName(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return std::to_string(uid);
}

// $SHMSTATS_SEGMENT_OWNER as a uid: a user name or a number; nullopt when unset.
std::optional<uid_t> ConfiguredOwner() {
  const char* env = std::getenv("SHMSTATS_SEGMENT_OWNER");
  if (!env || !*env) return std::nullopt;
  std::string_view text(env);
  uid_t uid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), uid);
  if (ec == std::errc() && end == text.data() + text.size()) return uid;
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (getpwnam_r(env, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_uid;
  throw Error(Errc::kInvalidArgument,
              fmt::format("SHMSTATS_SEGMENT_OWNER='{}' is neither a user name nor a uid", text));
}

// The `shmstats` system account (uid below 1000), which the Debian package creates to
// run shmstatsd, the creator of the host's segment: only root can make such an
// account, so its segments are as trusted as root's.
bool IsShmstatsSystemUser(uid_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  return getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found &&
         std::strcmp(found->pw_name, "shmstats") == 0 && uid < 1000;
}

}  // namespace

void CheckOwnership(int fd, const std::string& path, const std::string& name) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw Error(Errc::kSystem, fmt::format("stat {}: {}", path, std::strerror(errno)));
  }
  uid_t me = geteuid();
  auto configured = ConfiguredOwner();
  if (st.st_uid != me && st.st_uid != 0 && (!configured || st.st_uid != *configured) &&
      !IsShmstatsSystemUser(st.st_uid)) {
    throw Error(
        Errc::kPermission,
        fmt::format(
            "segment {} is owned by {} (uid {}), not by you ({}), root, the shmstats "
            "system user or $SHMSTATS_SEGMENT_OWNER: refused, as another user may have created "
            "it to take over the name; remove it (statsctl remove {}) and create "
            "it again, or if you trust that user set SHMSTATS_SEGMENT_OWNER={}",
            path, UserName(st.st_uid), st.st_uid, UserName(me), name, UserName(st.st_uid)));
  }
  if (st.st_mode & S_IWOTH) {
    throw Error(Errc::kPermission,
                fmt::format("segment {} has mode {:04o}: users outside its group may write it "
                            "(and reset, corrupt or shrink it): refused; run chmod o-w {} as its "
                            "owner, or remove it and create it again",
                            path, st.st_mode & 07777, path));
  }
}

bool OwnerDead(uint32_t pid) {
  return pid != 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

void CheckMappedSize(const SegmentImpl& s) {
  struct stat st {};
  if (fstat(s.shm.get_mapping_handle().handle, &st) != 0) {
    throw Error(Errc::kSystem, fmt::format("stat {}: {}", s.path, std::strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_size) < s.region.get_size()) {
    throw Error(Errc::kCorrupt,
                fmt::format("segment {} was truncated to {} bytes under its readers (mapped: {}): "
                            "remove it and create it again",
                            s.path, st.st_size, s.region.get_size()));
  }
}

}  // namespace shmstats::detail
