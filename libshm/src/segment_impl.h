#pragma once

// detail::SegmentImpl: the mapping and typed views of it. Private to libshm; shared by
// segment.cc (lifecycle), registry.cc (registration) and reader.cc (snapshot, reset).

#include <sys/types.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <string>

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
  uint64_t data_offset = 0;
  // Explicit histograms' bucket lookup tables, in process memory (registry.cc).
  buckets::Tables bucket_tables;

  char* base() const { return static_cast<char*>(region.get_address()); }
  layout::Header& header() const { return *reinterpret_cast<layout::Header*>(base()); }
  layout::Descriptor& descriptor(uint32_t i) const {
    return reinterpret_cast<layout::Descriptor*>(base() + layout::kHeaderSize)[i];
  }
  layout::Slot* slots() const { return reinterpret_cast<layout::Slot*>(base() + data_offset); }

  // Throws Error(kInvalidArgument) unless the segment was opened read-write.
  void RequireWritable(const char* what) const;
};

}  // namespace shmstats
