// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who a process is, for process-scoped series, and whether it still runs.
//
// Identity: the pid plus the start time (field 22 of /proc/<pid>/stat, clock ticks
// after boot), so that a pid reused by a later process is not taken for the series'
// owner. A process reads only its own /proc entry, which every sandbox leaves it;
// with no /proc at all, a boot-clock token stands in for the start time.
//
// Liveness never needs another process's /proc entry (systemd's ProtectProc=invisible
// hides them): each owner holds an open-file-description lock (F_OFD_SETLK) on one
// byte of the segment file, at an offset made of its pid and start time, beyond any
// segment's end. The kernel drops the lock when the last descriptor of that open file
// goes, so at the latest when the owner dies; any process that can open the file
// tests it with F_OFD_GETLK. Private to libshm.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <unordered_map>

namespace shmstats::process {

struct Identity {
  uint32_t pid = 0;
  uint64_t start = 0;  // 0: unknown (no such process)
};

// The calling process (recomputed after a fork). Thread-safe.
Identity Self();

// The calling process's pid without a system call: cached, and forgotten in the child
// of a fork() (pthread_atfork). A child made by a raw clone() that then uses libshm
// without exec would see its parent's pid. Thread-safe, lock-free.
uint32_t SelfPid();

// The fork() calls this process has returned from as a parent since it first called
// SelfPid() or Forks() (the same pthread_atfork handlers; a child starts from its
// parent's count). Thread-safe, lock-free.
uint64_t Forks();

// The start time of pid, or 0 if it does not exist, is a zombie (it has exited: it
// records nothing more) or its /proc entry cannot be read. Reads /proc/<pid>/stat.
uint64_t StartTime(uint32_t pid);

// The byte of the segment file whose lock says that `owner` is alive: 2^62 plus the
// pid and the low 39 bits of the start time, so that no two live processes share one,
// and no segment (at most a few GiB) reaches it.
off_t OwnerLockOffset(const Identity& owner);

// True if an open file description other than fd's holds a lock on `byte` of fd's
// file; nullopt if the kernel cannot tell (errno set). F_OFD_GETLK.
std::optional<bool> ByteLocked(int fd, off_t byte);

// Takes a lock of `type` (F_RDLCK, or F_UNLCK to release) on `byte` of fd's file, for
// fd's open file description. Returns false (errno set) if the kernel refused.
bool LockByte(int fd, off_t byte, short type);

// Takes `owner`'s lock on the open file `fd` (a descriptor of the segment file the
// caller opened for itself; a child forked later shares it, which keeps the lock held
// while the child may use the handles it inherited). Returns false (errno set) if the kernel
// refused.
bool LockOwner(int fd, const Identity& owner);

// True while (pid, start) may still use what it mapped: its lock byte is held by any
// open file description (its own, or a child's that inherited it across fork(), even
// after the owner itself exited), or, with no lock held, its pid exists and /proc
// shows that start time or cannot tell (entry hidden or absent). `fd` is a descriptor
// of the segment file. For decisions that must not miss a holder (reuse of records
// and of deleted series).
bool Holding(int fd, uint32_t pid, uint64_t start);

// Answers "is the owner (pid, start) alive?", caching each owner for the life of the
// object (one read pass). `fd` is a descriptor of the segment file. An owner is
// alive if its pid exists (kill(pid, 0)) and it holds its lock on the segment file;
// an owner without the lock (a library that predates it, or a process that closed
// every descriptor) counts as alive if /proc shows its pid with its start time.
// Not thread-safe.
class Liveness {
 public:
  explicit Liveness(int fd) : fd_(fd) {}
  bool Alive(uint32_t pid, uint64_t start);

 private:
  int fd_;
  std::unordered_map<uint32_t, std::pair<uint64_t, bool>> seen_;  // pid -> (start, alive)
};

}  // namespace shmstats::process
