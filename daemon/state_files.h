// SPDX-License-Identifier: Apache-2.0
#pragma once

// Files shmstatsd creates in its state directory (and beside the textfile): none is
// ever opened through a symlink, and every new one is created exclusively, so that a
// link planted there cannot make the daemon truncate or overwrite another file.
//
// Errors: throw shmstats::Error (kPermission or kSystem) naming the path and what to do.

#include <string>
#include <string_view>

namespace shmstats::daemon {

// Refuses a state directory that users other than this process's own may write:
// owned by someone other than it or root, group-writable by a group it is not in, or
// world-writable. A missing directory passes (opening the database reports it).
void CheckStateDir(const std::string& dir);

// Creates `path` with O_CREAT|O_EXCL|O_NOFOLLOW and returns the descriptor. A
// regular file that this user owns left there (a temp file of a crashed run) is
// removed and the creation retried once; anything else (a symlink) is refused.
int CreateExclusive(const std::string& path, int flags, int mode);

// Opens `path`, creating it exclusively when it does not exist; an existing one
// is opened with O_NOFOLLOW and must be a regular file owned by this user.
int OpenOrCreateNoFollow(const std::string& path, int mode);

// A file replaced atomically (stats.json, the textfile): written to a temporary
// file beside `path` (created exclusively), then fsynced and renamed over `path`
// by Commit(), and the directory fsynced. Destroyed without Commit(), it removes
// the temporary file and leaves `path` as it was. Written in pieces, a document
// of megabytes never has to be whole in memory. Not thread-safe.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void Write(std::string_view bytes);
  void Commit();

 private:
  std::string path_, tmp_;
  int fd_ = -1;
};

// The bytes of `path`, never through a symlink; empty if it cannot be read.
std::string ReadFileNoFollow(const std::string& path);

// AtomicFile with `content` in one piece.
void WriteFileAtomically(const std::string& path, std::string_view content);

}  // namespace shmstats::daemon
