// SPDX-License-Identifier: Apache-2.0
#include "cleanup_on_signal.h"

#include <signal.h>
#include <sys/mman.h>

#include <cstring>

namespace shmstats::bench {
namespace {

// Fixed buffers: the handler may only touch memory that needs no allocation.
char g_names[2][256];

void Handler(int sig) {
  for (const char* name : g_names) {
    if (name[0] != '\0') shm_unlink(name);  // async-signal-safe
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void Store(char* slot, const std::string& name) {
  if (name.size() + 2 > sizeof g_names[0]) return;
  slot[0] = '/';
  std::memcpy(slot + 1, name.c_str(), name.size() + 1);
}

}  // namespace

void UnlinkOnSignal(const std::string& a, const std::string& b) {
  Store(g_names[0], a);
  Store(g_names[1], b);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) signal(sig, Handler);
}

}  // namespace shmstats::bench
