// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Authorization header of remote-write requests: HTTP basic auth (a user name
// and a password file) or a bearer token file. Secrets are read from files, never
// from the command line (where `ps` shows them), and read again when a file
// changes (its inode, size or modification time), so a rotated password or token is
// used from the next request on, without a restart. Trailing white space (the
// newline an editor adds) is not part of a secret.
//
// Thread-safety: one thread at a time. Errors: the constructor throws
// shmstats::Error(kInvalidArgument) for a bad combination (a user name without a
// password file, or basic auth and a token together) or a file it cannot read or
// that is empty. Authorization never throws: a file that cannot be read again keeps
// the secret read last (and says so in the log, at most once a minute).

#include <sys/stat.h>

#include <string>

namespace shmstats::daemon {

struct CredentialFiles {
  std::string username;
  std::string password_file;
  std::string bearer_token_file;
  bool any() const {
    return !username.empty() || !password_file.empty() || !bearer_token_file.empty();
  }
};

class Credentials {
 public:
  explicit Credentials(CredentialFiles files);

  // "Basic <base64(user:password)>", "Bearer <token>", or "" when there are none.
  const std::string& Authorization();

 private:
  // Re-reads the secret's file if it changed; throws like the constructor.
  void Refresh(bool first);

  CredentialFiles files_;
  std::string header_;
  struct stat seen_ {};
};

}  // namespace shmstats::daemon
