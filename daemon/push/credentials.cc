// SPDX-License-Identifier: Apache-2.0
#include "daemon/push/credentials.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include "daemon/log.h"
#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Changed(const struct stat& a, const struct stat& b) {
  return a.st_ino != b.st_ino || a.st_dev != b.st_dev || a.st_size != b.st_size ||
         a.st_mtim.tv_sec != b.st_mtim.tv_sec || a.st_mtim.tv_nsec != b.st_mtim.tv_nsec;
}

}  // namespace

Credentials::Credentials(CredentialFiles files) : files_(std::move(files)) {
  auto bad = [](const char* why) { return Error(Errc::kInvalidArgument, why); };
  if (!files_.username.empty() && files_.password_file.empty()) {
    throw bad("--remote-write-username needs --remote-write-password-file");
  }
  if (files_.username.empty() && !files_.password_file.empty()) {
    throw bad("--remote-write-password-file needs --remote-write-username");
  }
  if (!files_.password_file.empty() && !files_.bearer_token_file.empty()) {
    throw bad("use either basic auth (--remote-write-username) or a bearer token, not both");
  }
  if (files_.username.find(':') != std::string::npos) {
    throw bad("--remote-write-username must not contain ':' (basic auth splits there)");
  }
  Refresh(/*first=*/true);
}

const std::string& Credentials::Authorization() {
  try {
    Refresh(/*first=*/false);
  } catch (const Error& e) {
    LogLimited("remote-write credentials", "warning",
               fmt::format("remote-write: {}; still using the one read before", e.what()));
  }
  return header_;
}

void Credentials::Refresh(bool first) {
  const std::string& path =
      files_.bearer_token_file.empty() ? files_.password_file : files_.bearer_token_file;
  if (path.empty()) return;
  const char* what = files_.bearer_token_file.empty() ? "password file" : "bearer token file";
  struct stat now {};
  if (stat(path.c_str(), &now) != 0) {
    throw Error(Errc::kInvalidArgument, fmt::format("cannot read the {} {}", what, path));
  }
  if (!first && !Changed(now, seen_)) return;
  std::ifstream in(path);
  if (!in) throw Error(Errc::kInvalidArgument, fmt::format("cannot read the {} {}", what, path));
  std::stringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty())
    throw Error(Errc::kInvalidArgument, fmt::format("the {} {} is empty", what, path));
  header_ = files_.bearer_token_file.empty() ? "Basic " + Base64(files_.username + ":" + secret)
                                             : "Bearer " + secret;
  seen_ = now;
  if (!first) Log("info", fmt::format("remote-write: read the changed {} {}", what, path));
}

}  // namespace shmstats::daemon
