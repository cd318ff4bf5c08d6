// SPDX-License-Identifier: Apache-2.0
#pragma once

// The on-disk spool of ticks that the history store has not accepted yet (the
// store is unreachable, read-only or full). It lives in STATE_DIR/spool and
// survives a restart: the next daemon sends the spooled ticks first, in order.
//
// Layout: one file per tick, named by a sequence number in 16 lower-case hex
// digits ("0000000100000000.tick"), so that name order is send order; plus "lock"
// (flock: one daemon per spool). An empty spool numbers from 2^32 on, so that a
// tick whose write failed after newer ticks were spooled can go back in front
// (Prepend) with a smaller number. Each tick file is one framed record:
//
//   magic    8 bytes  "SHMSPL1\n"
//   length   u32      payload bytes
//   crc      u32      CRC-32 (IEEE 802.3, as zlib's crc32) of the payload
//   payload  length bytes (below)
//
// Integers are little-endian; a string is a u32 byte count and the bytes; a double
// is its 8 IEEE-754 bytes. Payload: i64 unix_ms, i64 interval_ms, u32 samples, then
// per sample: u8 type (1 counter, 2 gauge, 3 histogram), string name, u32 label
// count and (string name, string value) pairs, string help, string unit, then the
// value: a counter's u64 delta; a gauge's double; a histogram's i32 LayoutWord,
// u32 bound count and doubles, u32 bucket count and u64 delta counts, double sum.
//
// Crash safety: a file is created with O_CREAT|O_EXCL|O_NOFOLLOW (state_files.h),
// written, then fdatasync'ed. A daemon killed while writing leaves a file whose
// frame does not check (short, or a CRC mismatch): it is removed at the next read
// and counted as dropped ("corrupt"), so at most the tick being written is lost. A
// tick file is removed only after the store committed the tick, and both stores
// ignore a tick they already hold (StoreWriter::Write), so a daemon killed while
// draining re-sends at most one tick and duplicates nothing.
//
// Bounds: at most `max_ticks` files and `max_bytes` bytes. Appending past either
// drops the oldest ticks (drop-oldest: the newest data is the most useful), never
// the one just appended; drops are counted (Dropped()).
//
// Thread-safety: one thread (the collector's). Errors: the constructor and Append
// throw shmstats::Error naming the path (kAlreadyExists when another daemon holds
// the lock); Front and PopFront do not throw: unreadable files are dropped.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/lock_file.h"
#include "history/store.h"

namespace shmstats::daemon {

struct SpoolLimits {
  uint64_t max_ticks = 10'080;               // a week of 60 s ticks
  uint64_t max_bytes = uint64_t{256} << 20;  // 256 MiB
};

class TickSpool {
 public:
  // Opens or creates `dir` (mode 0700) and locks it; reads the sizes of the ticks
  // already spooled there.
  TickSpool(const std::string& dir, SpoolLimits limits);
  TickSpool(const TickSpool&) = delete;
  TickSpool& operator=(const TickSpool&) = delete;

  // Writes `tick` as the newest file, then drops the oldest while over the limits.
  // On an error nothing is appended (a partly written file is removed).
  void Append(const history::TickRecord& tick);
  // Writes `tick` as the oldest file (a tick sent before the spooled ones whose
  // write failed). The limits apply at the next Append. Same errors as Append.
  void Prepend(const history::TickRecord& tick);
  // The oldest tick, or nullopt when the spool is empty. Files that do not decode
  // are removed and counted as dropped on the way.
  std::optional<history::TickRecord> Front();
  // Up to `n` of the oldest ticks with their sequence numbers, oldest first (files
  // that do not decode are removed and counted on the way, as by Front).
  std::vector<std::pair<uint64_t, history::TickRecord>> Peek(size_t n);
  // Removes the oldest tick (the one Front returned).
  void PopFront();
  // Removes the tick numbered `seq` if it is still there (Peek's numbers).
  void Remove(uint64_t seq);

  uint64_t ticks() const { return files_.size(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t dropped_full() const { return dropped_full_; }
  uint64_t dropped_corrupt() const { return dropped_corrupt_; }
  const std::string& dir() const { return dir_; }

 private:
  static constexpr uint64_t kFirstSeq = uint64_t{1} << 32;
  std::string Path(uint64_t seq) const;
  void Remove(std::map<uint64_t, uint64_t>::iterator it);
  // Writes the file numbered `seq` (fdatasync'ed) and accounts for it.
  void WriteFile(uint64_t seq, const history::TickRecord& tick);

  std::string dir_;
  SpoolLimits limits_;
  std::unique_ptr<LockFile> lock_;
  std::map<uint64_t, uint64_t> files_;  // sequence number -> file size
  uint64_t bytes_ = 0;
  uint64_t next_seq_ = 0;
  uint64_t dropped_full_ = 0;
  uint64_t dropped_corrupt_ = 0;
};

// The spool record of one tick and back (the payload framed as above); exposed for
// tests. DecodeTick returns nullopt for a frame that does not check.
std::string EncodeTick(const history::TickRecord& tick);
std::optional<history::TickRecord> DecodeTick(std::string_view frame);

}  // namespace shmstats::daemon
