// SPDX-License-Identifier: Apache-2.0
#include "daemon/systemd/journal.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace shmstats::daemon {
namespace {

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");  // "DEVICE:INODE"
  struct stat st;
  if (!stream || fstat(2, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  return std::sscanf(stream, "%llu:%llu", &dev, &ino) == 2 && dev == st.st_dev && ino == st.st_ino;
}

}  // namespace

const char* JournalPrefix(const char* level) {
  static const bool journal = StderrIsJournal();
  if (!journal) return "";
  if (std::strcmp(level, "error") == 0) return "<3>";
  if (std::strcmp(level, "warning") == 0) return "<4>";
  return "<6>";
}

}  // namespace shmstats::daemon
