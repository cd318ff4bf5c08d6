// SPDX-License-Identifier: Apache-2.0
#pragma once

// Seccomp sandboxes for the zero-syscall tests. After either call succeeds, any
// system call except the raw exit kills the process with SIGKILL (SIGSYS for the
// filter), so a child that still exits with status 0 made none.

namespace shmstats::test {

// Strict mode: only read, write, exit and sigreturn. On x86 it also disables the
// RDTSC instruction (the kernel sets TIF_NOTSC), so the vDSO clock faults with
// SIGSEGV: use the filter for anything that reads the clock.
// Returns false (errno set) if the kernel refused.
bool EnterStrictMode();

// A seccomp filter that allows only exit(2) and kills the process on any other
// system call. Leaves RDTSC (and so the vDSO clock) usable.
// Returns false (errno set) if the kernel refused.
bool EnterExitOnlyFilter();

// Ends the calling single-threaded process with status 0 through the raw exit
// system call; glibc's _exit() uses exit_group, which both sandboxes forbid.
[[noreturn]] void ExitSandboxed();

}  // namespace shmstats::test
