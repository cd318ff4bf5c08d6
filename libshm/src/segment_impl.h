// SPDX-License-Identifier: Apache-2.0
#pragma once

// detail::SegmentImpl: the mapping and typed views of it. Private to libshm; shared by
// segment.cc (lifecycle), registry.cc (registration) and reader.cc (snapshot, reset).

#include <sys/types.h>

#include <array>
#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bucket_table.h"
#include "layout.h"
#include "shmstats/segment.h"

namespace shmstats {

struct detail::SegmentImpl {
  std::string name;
  std::string path;
  Access access = Access::kReadOnly;
  boost::interprocess::shared_memory_object shm;
  boost::interprocess::mapped_region region;
  dev_t dev = 0;
  ino_t ino = 0;
  // Copies of the validated header geometry: the shared header is untrusted after
  // open, so bounds checks use these.
  uint32_t max_metrics = 0;
  uint32_t max_slots = 0;
  uint32_t index_entries = 0;
  uint64_t series_index_offset = 0;
  uint64_t family_index_offset = 0;
  uint64_t directory_offset = 0;
  uint64_t strings_offset = 0;
  uint64_t string_bytes = 0;
  uint64_t data_offset = 0;
  uint64_t family_table_offset = 0;  // 0: a segment made without a family table
  uint64_t exemplar_offset = 0;      // 0: no exemplar region
  uint32_t exemplar_records = 0;
  uint64_t producer_table_offset = 0;  // 0: the segment has no producer table
  uint32_t producer_capacity = 0;
  // The header's prepared_bytes, at most what a creator prepares (segment.cc).
  uint64_t prepared_bytes = 0;
  // Explicit histograms' bucket lookup tables, in process memory (registry.cc).
  buckets::Tables bucket_tables;
  // This process's process-scoped series: key hash -> descriptor index, valid for
  // process_cache_pid (a child after fork starts afresh). Guarded by process_mutex.
  std::mutex process_mutex;
  uint32_t process_cache_pid = 0;
  std::unordered_map<uint64_t, uint32_t> process_cache;
  // Which shared descriptor a handle's first slot belongs to (slot offset ->
  // descriptor index), found on an exemplar's first store. Guarded by exemplar_mutex.
  std::mutex exemplar_mutex;
  std::unordered_map<uint32_t, uint32_t> exemplar_series;
  // This process's owner lock (process_identity.h): a descriptor of the segment file
  // of its own, opened for process_cache_pid, -1 before the first process-scoped
  // registration. Guarded by process_mutex.
  int owner_lock_fd = -1;
  // This process's producer record (producers.h), made for producer_pid at its first
  // registration; its job and flags as set by SetJob/SetProcessMetrics (nullopt: from
  // the environment at attach). Guarded by process_mutex.
  // Atomic, written after producer_ref: a registration reads both without the lock.
  std::atomic<uint32_t> producer_pid{0};
  uint64_t producer_ref = 0;
  std::optional<std::string> producer_job;
  std::optional<bool> producer_process_metrics;
  // Registrations made through this mapping. From kWarmRegistrations on, Reserve also
  // maps what it reserves (a process that registers a few series maps nothing ahead).
  static constexpr uint32_t kWarmRegistrations = 64;
  mutable std::atomic<uint32_t> registrations{0};
  void CountRegistration() const { registrations.fetch_add(1, std::memory_order_relaxed); }
  // Pages of the file this mapping reserved lately (first page << 32 | end page), so
  // that Reserve makes its system calls once per chunk, not once per page.
  mutable std::array<std::atomic<uint64_t>, 4> reserved_chunks{};
  mutable std::atomic<uint32_t> next_reserved_chunk{0};

  // Owner lock descriptors inherited across fork(): kept open, so that the parent's
  // lock stays held while this child may still use handles it inherited (reuse.h).
  // Guarded by process_mutex.
  std::vector<int> inherited_lock_fds;
  // Announcement to reusers of deleted series (reuse.h): this process's recordless
  // lock's descriptor (-1: none), the pid that opened it and that process's
  // process::Forks() then (a forked child shares it). Guarded by announce_mutex.
  mutable std::mutex announce_mutex;
  int recordless_fd = -1;
  uint32_t recordless_pid = 0;
  uint64_t recordless_forks = 0;
  // The last search for a deleted descriptor that found none (steady ns; the
  // header's `deleted` then; the key's slots << 32 | string bytes), so that a flood
  // of new keys does not repeat it.
  mutable std::atomic<uint64_t> reuse_miss_ns{0};
  mutable std::atomic<uint64_t> reuse_miss_deletions{0};
  mutable std::atomic<uint64_t> reuse_miss_size{0};
  // This mapping's handles include none to a series deleted before this tick
  // (Segment::DroppedDeletedBefore; 0: no such promise). Guarded by reuse.cc's lock.
  uint64_t dropped_mark = 0;

  SegmentImpl() = default;
  SegmentImpl(const SegmentImpl&) = delete;
  SegmentImpl& operator=(const SegmentImpl&) = delete;
  ~SegmentImpl();

  // The mapped file's descriptor.
  int fd() const { return shm.get_mapping_handle().handle; }

  char* base() const { return static_cast<char*>(region.get_address()); }
  layout::Header& header() const { return *reinterpret_cast<layout::Header*>(base()); }
  // REQUIRES: i < max_metrics.
  layout::Descriptor& descriptor(uint32_t i) const {
    return reinterpret_cast<layout::Descriptor*>(base() + directory_offset)[i];
  }
  std::atomic<uint64_t>& series_entry(uint32_t i) const {
    return reinterpret_cast<std::atomic<uint64_t>*>(base() + series_index_offset)[i];
  }
  std::atomic<uint64_t>& family_entry(uint32_t i) const {
    return reinterpret_cast<std::atomic<uint64_t>*>(base() + family_index_offset)[i];
  }
  char* strings() const { return base() + strings_offset; }
  // REQUIRES: family_table_offset != 0 and i < index_entries.
  layout::FamilyRecord& family_record(uint32_t i) const {
    return reinterpret_cast<layout::FamilyRecord*>(base() + family_table_offset)[i];
  }
  layout::Slot* slots() const { return reinterpret_cast<layout::Slot*>(base() + data_offset); }
  // REQUIRES: i < exemplar_records.
  layout::ExemplarRecord& exemplar(uint64_t i) const {
    return reinterpret_cast<layout::ExemplarRecord*>(base() + exemplar_offset)[i];
  }
  // REQUIRES: i < producer_capacity.
  layout::ProducerRecord& producer(uint32_t i) const {
    return reinterpret_cast<layout::ProducerRecord*>(base() + producer_table_offset)[i];
  }

  // Descriptors below the series cursor, at most max_metrics: the only ones a reader
  // looks at (the pages above it may be holes).
  uint32_t series_used() const;

  // Throws Error(kInvalidArgument) unless the segment was opened read-write.
  void RequireWritable(const char* what) const;
  // Reserves tmpfs pages for [offset, offset + len) of the file, so that touching
  // them cannot SIGBUS. Returns false (errno set) when tmpfs is full. Once this
  // mapping is warm (registrations), reserves up to the next kReserveChunk boundary
  // (a cursor region's next units) and maps those pages too. Thread-safe.
  static constexpr uint64_t kReserveChunk = 64 * 1024;
  bool Reserve(uint64_t offset, uint64_t len) const;
};

namespace detail {
// The slots of a descriptor, checked against the segment's geometry and its own
// layout (striping included). Throws Error(kCorrupt). registry.cc.
layout::Slot* CheckedSlots(const SegmentImpl& s, const layout::Descriptor& d);

// The segment file opened again by its path (read-only, close-on-exec): an open file
// description of the caller's own, for locks no other process or fork() shares.
// Returns -1 and a problem (errno's text, or "removed or re-created" if the path
// names another file now). segment.cc.
int ReopenOwn(const SegmentImpl& s, std::string* problem);
}  // namespace detail

}  // namespace shmstats
