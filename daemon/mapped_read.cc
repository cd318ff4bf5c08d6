// SPDX-License-Identifier: Apache-2.0
#include "daemon/mapped_read.h"

#include <fmt/format.h>
#include <setjmp.h>
#include <signal.h>

#include <mutex>

#include "shmstats/error.h"

namespace shmstats::daemon {
namespace {

thread_local sigjmp_buf* t_fault = nullptr;  // where a SIGBUS in ReadMapped goes

void OnSigbus(int, siginfo_t*, void*) {
  if (sigjmp_buf* to = t_fault) siglongjmp(*to, 1);
  // Not a segment read: what SIGBUS would have done without this handler.
  signal(SIGBUS, SIG_DFL);
  raise(SIGBUS);
}

void Install() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, nullptr);
  });
}

}  // namespace

void ReadMapped(const std::string& segment, const std::function<void()>& read) {
  Install();
  sigjmp_buf here;
  sigjmp_buf* const outer = t_fault;
  if (sigsetjmp(here, 1) != 0) {  // the mask is restored: SIGBUS is deliverable again
    t_fault = outer;
    throw Error(Errc::kCorrupt,
                fmt::format("segment {} shrank under a read (SIGBUS): it was truncated; the "
                            "read was abandoned",
                            segment));
  }
  t_fault = &here;
  try {
    read();
  } catch (...) {
    t_fault = outer;
    throw;
  }
  t_fault = outer;
}

}  // namespace shmstats::daemon
