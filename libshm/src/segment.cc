// SPDX-License-Identifier: Apache-2.0
// Segment lifecycle: name checks, create/open races, header validation, info.

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/interprocess/exceptions.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <utility>

#include "ownership.h"
#include "process_series.h"
#include "producers.h"
#include "reuse.h"
#include "segment_impl.h"
#include "shmstats/error.h"

namespace shmstats {
namespace bip = boost::interprocess;
namespace {

constexpr auto kOpenWait = std::chrono::seconds(2);

uint64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Turns a Boost.Interprocess failure into an Error naming the segment and cause.
Error Translate(const bip::interprocess_exception& e, const std::string& path, const char* doing) {
  switch (e.get_error_code()) {
    case bip::not_found_error:
    case bip::not_such_file_or_directory:
      return Error(Errc::kNotFound,
                   fmt::format("segment {} does not exist: create it (statsctl create) or start "
                               "a producer first",
                               path));
    case bip::already_exists_error:
      return Error(Errc::kAlreadyExists, fmt::format("segment {} already exists", path));
    case bip::security_error:
      return Error(Errc::kPermission,
                   fmt::format("permission denied {} {}: check its owner and mode (ls -l {}), "
                               "or open it read-only",
                               doing, path, path));
    case bip::out_of_space_error:
    case bip::out_of_memory_error:
      return Error(Errc::kSystem, fmt::format("no space in /dev/shm {} {}", doing, path));
    default:
      return Error(Errc::kSystem, fmt::format("{} {}: {}", doing, path, e.what()));
  }
}

Error SystemError(const std::string& what, int err) {
  Errc code = (err == EACCES || err == EPERM) ? Errc::kPermission : Errc::kSystem;
  return Error(code, fmt::format("{}: {}", what, std::strerror(err)));
}

void CheckTmpfs() {
  struct statfs fs {};
  if (statfs("/dev/shm", &fs) != 0) throw SystemError("cannot stat /dev/shm", errno);
  if (fs.f_type != TMPFS_MAGIC)
    throw Error(Errc::kSystem,
                "/dev/shm is not a tmpfs: shmstats refuses a disk-backed segment, whose writeback "
                "would stall producers; mount tmpfs on /dev/shm");
}

struct Geometry {
  uint32_t index_entries;
  uint64_t family_index_offset;
  uint64_t directory_offset;
  uint64_t strings_offset;
  uint64_t string_bytes;
  uint64_t data_offset;
  uint64_t family_table_offset;  // the first region after the data area
  uint64_t exemplar_offset;      // 0: no exemplar region
  uint32_t exemplar_records;
  uint64_t producer_table_offset;  // 0: no producer table
  uint32_t producer_capacity;
  uint64_t total_size;
};

// Each cursor region's first bytes a creator reserves and zeroes (header
// prepared_bytes).
constexpr uint64_t kPreparedBytes = 256 * 1024;

uint64_t PageUp(uint64_t n) { return (n + layout::kPage - 1) / layout::kPage * layout::kPage; }

// The first `prefix` bytes (at most) of each cursor region: descriptors, strings and
// slots, as {file offset, bytes}. G: a Geometry or a SegmentImpl.
template <class G>
std::array<std::pair<uint64_t, uint64_t>, 3> CursorPrefixes(const G& g, uint32_t max_slots,
                                                            uint64_t prefix) {
  return {std::pair{g.directory_offset, std::min(g.strings_offset - g.directory_offset, prefix)},
          std::pair{g.strings_offset, std::min(g.string_bytes, prefix)},
          std::pair{g.data_offset, std::min(PageUp(uint64_t{max_slots} * 8), prefix)}};
}

// Maps [p, p + len) (page-aligned, reserved) writable now, so that the first touches
// of those pages take no page fault. A kernel without MADV_POPULATE_WRITE (before
// 5.14) leaves them to fault as before.
void PopulateForWrite(char* p, uint64_t len) {
#ifdef MADV_POPULATE_WRITE
  (void)madvise(p, len, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)len;
#endif
}

// REQUIRES: capacities within their limits (so nothing here overflows). Regions
// after the data area, in order, each from a page boundary: the family table (absent
// in a segment made before it), the producer table (`producers` 0: absent), then the
// exemplar region (absent with no records).
Geometry GeometryFor(uint32_t max_metrics, uint32_t max_slots, uint64_t string_bytes,
                     bool family_table, uint32_t producers, uint32_t exemplar_records) {
  Geometry g{};
  g.index_entries = layout::kMinIndexEntries;
  while (g.index_entries < 2 * uint64_t{max_metrics}) g.index_entries *= 2;
  g.family_index_offset = layout::kHeaderSize + uint64_t{g.index_entries} * 8;
  g.directory_offset = g.family_index_offset + uint64_t{g.index_entries} * 8;
  g.strings_offset = PageUp(g.directory_offset + uint64_t{max_metrics} * layout::kDescriptorSize);
  g.string_bytes = string_bytes;
  g.data_offset = g.strings_offset + string_bytes;
  g.total_size = PageUp(g.data_offset + uint64_t{max_slots} * sizeof(layout::Slot));
  if (family_table) {
    g.family_table_offset = g.total_size;
    g.total_size += PageUp(uint64_t{g.index_entries} * layout::kFamilyEntrySize);
  }
  if (producers != 0) {
    g.producer_table_offset = g.total_size;
    g.producer_capacity = producers;
    g.total_size =
        PageUp(g.producer_table_offset + uint64_t{producers} * layout::kProducerRecordSize);
  }
  if (exemplar_records != 0) {
    g.exemplar_records = exemplar_records;
    g.exemplar_offset = g.total_size;
    g.total_size =
        PageUp(g.exemplar_offset + uint64_t{exemplar_records} * layout::kExemplarRecordSize);
  }
  return g;
}

uint64_t DefaultStringBytes(uint32_t max_metrics) {
  return std::max<uint64_t>(64 * 1024, PageUp(uint64_t{max_metrics} * 512));
}

// SegmentOptions::exemplar_records, kAutomatic resolved.
uint32_t ExemplarRecords(const SegmentOptions& o) {
  if (o.exemplar_records != SegmentOptions::kAutomatic) return o.exemplar_records;
  return std::clamp<uint32_t>(o.max_metrics / 4, 16, 4096);
}

void CheckOptions(const SegmentOptions& o) {
  if (o.max_metrics < 1 || o.max_metrics > layout::kMaxMetricsLimit)
    throw Error(Errc::kInvalidArgument, fmt::format("max_metrics is {}; use 1 to {}", o.max_metrics,
                                                    layout::kMaxMetricsLimit));
  if (o.max_slots < layout::kCacheLineSlots || o.max_slots > layout::kMaxSlotsLimit)
    throw Error(Errc::kInvalidArgument,
                fmt::format("max_slots is {}; use {} to {}", o.max_slots, layout::kCacheLineSlots,
                            layout::kMaxSlotsLimit));
  if (o.string_bytes != 0 &&
      (o.string_bytes % layout::kPage != 0 || o.string_bytes > layout::kMaxStringBytesLimit))
    throw Error(Errc::kInvalidArgument,
                fmt::format("string_bytes is {}; use 0 (automatic) or a multiple of {} up to {}",
                            o.string_bytes, layout::kPage, layout::kMaxStringBytesLimit));
  if (o.exemplar_records != SegmentOptions::kAutomatic &&
      o.exemplar_records > layout::kMaxExemplarRecordsLimit)
    throw Error(Errc::kInvalidArgument,
                fmt::format("exemplar_records is {}; use 0 (none) to {}", o.exemplar_records,
                            layout::kMaxExemplarRecordsLimit));
  if (o.max_producers < 1 || o.max_producers > layout::kMaxProducersLimit)
    throw Error(Errc::kInvalidArgument, fmt::format("max_producers is {}; use 1 to {}",
                                                    o.max_producers, layout::kMaxProducersLimit));
  if (o.mode & ~07777u)
    throw Error(Errc::kInvalidArgument, fmt::format("mode {:o} is not a permission mode", o.mode));
  if (o.mode & S_IWOTH)
    throw Error(Errc::kInvalidArgument,
                fmt::format("mode {:04o} lets users outside the segment's group write it, and "
                            "readers refuse such a segment: use 0640, or 0660 with a group",
                            o.mode));
}

// Writes the capacities and the geometry into the header, or into the segment's
// trusted copy of it (the fields have the same names).
template <class To>
void StoreGeometry(To& to, uint32_t max_metrics, uint32_t max_slots, const Geometry& g) {
  to.max_metrics = max_metrics;
  to.max_slots = max_slots;
  to.index_entries = g.index_entries;
  to.series_index_offset = layout::kHeaderSize;
  to.family_index_offset = g.family_index_offset;
  to.directory_offset = g.directory_offset;
  to.strings_offset = g.strings_offset;
  to.string_bytes = g.string_bytes;
  to.data_offset = g.data_offset;
  to.family_table_offset = g.family_table_offset;
  to.exemplar_offset = g.exemplar_offset;
  to.exemplar_records = g.exemplar_records;
  to.producer_table_offset = g.producer_table_offset;
  to.producer_capacity = g.producer_capacity;
}

// Checks the header geometry against the file: everything later trusts these numbers.
void ValidateHeader(detail::SegmentImpl& s, uint64_t file_size) {
  const layout::Header& h = s.header();
  if (h.format_version != layout::kFormatVersion)
    throw Error(Errc::kIncompatible,
                fmt::format("segment {} has format version {}; this build reads version {}{}",
                            s.path, h.format_version, layout::kFormatVersion,
                            h.format_version < layout::kFormatVersion
                                ? fmt::format(": remove it (statsctl remove {}) and restart its "
                                              "producers, which re-create it and re-register their "
                                              "metrics (or statsctl create {})",
                                              s.name, s.name)
                                : ": upgrade the reader, or remove and re-create the segment"));
  auto corrupt = [&](const std::string& what) {
    return Error(Errc::kCorrupt, fmt::format("segment {} is corrupt: {}", s.path, what));
  };
  if (h.header_size != layout::kHeaderSize || h.descriptor_size != layout::kDescriptorSize)
    throw corrupt(fmt::format("header size {} and descriptor size {} (expected {} and {})",
                              h.header_size, h.descriptor_size, layout::kHeaderSize,
                              layout::kDescriptorSize));
  if (h.max_metrics < 1 || h.max_metrics > layout::kMaxMetricsLimit ||
      h.max_slots < layout::kCacheLineSlots || h.max_slots > layout::kMaxSlotsLimit ||
      h.string_bytes % layout::kPage != 0 || h.string_bytes > layout::kMaxStringBytesLimit ||
      h.producer_capacity > layout::kMaxProducersLimit)
    throw corrupt(
        fmt::format("capacity of {} metrics, {} slots, {} string bytes and {} producers is out of "
                    "range",
                    h.max_metrics, h.max_slots, h.string_bytes, h.producer_capacity));
  // A segment made before exemplars has no region (offset 0).
  const uint32_t exemplar_records =
      h.exemplar_offset != 0 ? std::min(h.exemplar_records, layout::kMaxExemplarRecordsLimit) : 0;
  // A producer table offset of 0: a segment made before the table existed.
  const uint32_t producers = h.producer_table_offset == 0 ? 0 : h.producer_capacity;
  if (h.producer_table_offset != 0 &&
      (producers == 0 || h.producer_record_size != layout::kProducerRecordSize))
    throw corrupt(fmt::format("producer table of {} records of {} bytes", h.producer_capacity,
                              h.producer_record_size));
  Geometry g = GeometryFor(h.max_metrics, h.max_slots, h.string_bytes, h.family_table_offset != 0,
                           producers, exemplar_records);
  if (h.index_entries != g.index_entries || h.series_index_offset != layout::kHeaderSize ||
      h.family_index_offset != g.family_index_offset || h.directory_offset != g.directory_offset ||
      h.strings_offset != g.strings_offset || h.data_offset != g.data_offset ||
      h.family_table_offset != g.family_table_offset ||
      h.producer_table_offset != g.producer_table_offset || h.total_size != g.total_size)
    throw corrupt(fmt::format(
        "index size {}, offsets {}/{}/{}/{}/{}/{} and size {} do not match its "
        "capacity",
        h.index_entries, h.series_index_offset, h.family_index_offset, h.directory_offset,
        h.strings_offset, h.data_offset, h.family_table_offset, h.total_size));
  // The exemplar region is where GeometryFor puts it, of records of this build's size.
  if (h.exemplar_offset != 0 && (h.exemplar_records < 1 || h.exemplar_records != exemplar_records ||
                                 h.exemplar_record_size != layout::kExemplarRecordSize ||
                                 h.exemplar_offset != g.exemplar_offset))
    throw corrupt(fmt::format("exemplar region at {} of {} records of {} bytes does not fit",
                              h.exemplar_offset, h.exemplar_records, h.exemplar_record_size));
  if (h.total_size != file_size)
    throw corrupt(fmt::format("header says {} bytes but the file has {}", h.total_size, file_size));
  StoreGeometry(s, h.max_metrics, h.max_slots, g);
  // Trusted no further than a creator of this build prepares.
  s.prepared_bytes = std::min(h.prepared_bytes, kPreparedBytes) / layout::kPage * layout::kPage;
}

void RecordIdentity(detail::SegmentImpl& s) {
  struct stat st {};
  if (fstat(s.shm.get_mapping_handle().handle, &st) == 0) {
    s.dev = st.st_dev;
    s.ino = st.st_ino;
  }
}

}  // namespace

void Segment::ValidateName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 200 && name != "." && name != "..";
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-');
  if (!ok)
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid segment name '{}': use 1 to 200 letters, digits, '.', '_' "
                            "or '-' (it names a file in /dev/shm)",
                            name));
}

uint32_t detail::SegmentImpl::series_used() const {
  return static_cast<uint32_t>(
      std::min<uint64_t>(header().series_used.load(std::memory_order_acquire), max_metrics));
}

bool detail::SegmentImpl::Reserve(uint64_t offset, uint64_t len) const {
  const uint64_t size = region.get_size();
  uint64_t start = offset / layout::kPage * layout::kPage;
  uint64_t end = std::min<uint64_t>(PageUp(offset + len), size);
  if (end <= start) return true;
  auto pages = [](uint64_t from, uint64_t to) {
    return from / layout::kPage << 32 | to / layout::kPage;
  };
  // Prepared by the creator (reserved and up to date): a read maps the whole 64 KiB
  // around it (the kernel's fault-around), where a write fault or
  // MADV_POPULATE_WRITE maps one page at a time.
  for (auto [at, len] : CursorPrefixes(*this, max_slots, prepared_bytes)) {
    if (start < at || end > at + len) continue;
    for (uint64_t page = start; page < end; page = (page / kReserveChunk + 1) * kReserveChunk)
      (void)__atomic_load_n(base() + page, __ATOMIC_RELAXED);
    return true;
  }
  for (const auto& chunk : reserved_chunks) {
    uint64_t c = chunk.load(std::memory_order_relaxed);
    if (c >> 32 <= start / layout::kPage && end / layout::kPage <= (c & 0xffffffffu)) return true;
  }
  // A cursor region is taken page by page: a warm mapping reserves a chunk ahead,
  // saving the next pages' system calls (a cold one reserves only what it takes). On
  // a full tmpfs, what was asked for alone may still fit.
  const int fd = shm.get_mapping_handle().handle;
  const bool warm = registrations.load(std::memory_order_relaxed) >= kWarmRegistrations;
  uint64_t chunk_end =
      warm ? std::min<uint64_t>((end + kReserveChunk - 1) / kReserveChunk * kReserveChunk, size)
           : end;
  int err = posix_fallocate(fd, static_cast<off_t>(start), static_cast<off_t>(chunk_end - start));
  if (err != 0 && chunk_end != end) {
    chunk_end = end;
    err = posix_fallocate(fd, static_cast<off_t>(start), static_cast<off_t>(end - start));
  }
  if (err != 0) {
    errno = err;
    return false;
  }
  reserved_chunks[next_reserved_chunk.fetch_add(1, std::memory_order_relaxed) %
                  reserved_chunks.size()]
      .store(pages(start, chunk_end), std::memory_order_relaxed);
  // A warm mapping will touch these pages soon: map them in one call rather than one
  // page fault each (that also makes them up to date, so other processes' faults on
  // them map their neighbours too).
  if (warm) PopulateForWrite(base() + start, chunk_end - start);
  return true;
}

int detail::ReopenOwn(const SegmentImpl& s, std::string* problem) {
  const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0)
    *problem = std::strerror(errno);
  else if (st.st_dev != s.dev || st.st_ino != s.ino)
    *problem = "the segment was removed or re-created";
  else
    return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

detail::SegmentImpl::~SegmentImpl() {
  reuse::Delist(*this);
  if (owner_lock_fd >= 0) ::close(owner_lock_fd);
  for (int fd : inherited_lock_fds) ::close(fd);
  if (recordless_fd >= 0) ::close(recordless_fd);
}

void detail::SegmentImpl::RequireWritable(const char* what) const {
  if (access != Access::kReadWrite)
    throw Error(Errc::kInvalidArgument,
                fmt::format("cannot {} in segment {}: it was opened read-only", what, path));
}

Segment::Segment(std::unique_ptr<detail::SegmentImpl> impl) : impl_(std::move(impl)) {}
Segment::Segment(Segment&&) noexcept = default;
Segment& Segment::operator=(Segment&&) noexcept = default;
Segment::~Segment() = default;

const std::string& Segment::name() const noexcept { return impl_->name; }

Segment Segment::Create(std::string_view name, const SegmentOptions& options) {
  ValidateName(name);
  CheckOptions(options);
  CheckTmpfs();
  auto s = std::make_unique<detail::SegmentImpl>();
  s->name = name;
  s->path = "/dev/shm/" + s->name;
  s->access = Access::kReadWrite;
  uint64_t string_bytes =
      options.string_bytes ? options.string_bytes : DefaultStringBytes(options.max_metrics);
  Geometry g = GeometryFor(options.max_metrics, options.max_slots, string_bytes, true,
                           options.max_producers, ExemplarRecords(options));
  try {
    s->shm = bip::shared_memory_object(bip::create_only, s->name.c_str(), bip::read_write,
                                       bip::permissions(options.mode));
  } catch (const bip::interprocess_exception& e) {
    throw Translate(e, s->path, "creating");
  }
  // From here on the segment is ours and uninitialised: any failure removes it.
  try {
    int fd = s->shm.get_mapping_handle().handle;
    if (fchmod(fd, options.mode) != 0) throw SystemError("chmod " + s->path, errno);
    if (options.group && fchown(fd, static_cast<uid_t>(-1), *options.group) != 0)
      throw SystemError(fmt::format("chgrp {} to gid {}", s->path, *options.group), errno);
    if (ftruncate(fd, static_cast<off_t>(g.total_size)) != 0)
      throw SystemError("sizing " + s->path, errno);
    // The file is sparse. Reserve the header and both indexes now (registrants
    // probe them anywhere); descriptors, strings and slots are reserved as their
    // cursors grow. A page fault on a full tmpfs would be a SIGBUS in a producer.
    if (int err = posix_fallocate(fd, 0, static_cast<off_t>(g.directory_offset)); err != 0)
      throw SystemError(fmt::format("reserving {} bytes for {}", g.directory_offset, s->path), err);
    // The producer table too: any registrant may take any record.
    if (int err = posix_fallocate(fd, static_cast<off_t>(g.producer_table_offset),
                                  static_cast<off_t>(PageUp(uint64_t{g.producer_capacity} *
                                                            layout::kProducerRecordSize)));
        err != 0)
      throw SystemError(fmt::format("reserving the producer table of {}", s->path), err);
    s->region = bip::mapped_region(s->shm, bip::read_write);
    // Every registration probes the series index at a hashed place: mapping it now
    // spares the creator a page fault per new page, and leaves its pages up to date,
    // which lets another process's fault on one map its neighbours as well.
    PopulateForWrite(s->base() + layout::kHeaderSize, uint64_t{g.index_entries} * 8);
    // The first pages of the descriptors, strings and slots as well, zeroed (made up
    // to date): the producers that open the segment after its creator (a daemon's)
    // then take their first ~2,000 series without a reservation or a page of their
    // own, and map them 16 pages per fault (Reserve). Not needed for correctness
    // (the cursors reserve as they grow): if tmpfs is full, nothing is prepared.
    bool prepared = true;
    for (auto [at, len] : CursorPrefixes(g, options.max_slots, kPreparedBytes)) {
      prepared =
          prepared && posix_fallocate(fd, static_cast<off_t>(at), static_cast<off_t>(len)) == 0;
      if (prepared) PopulateForWrite(s->base() + at, len);
    }
    layout::Header& h = s->header();
    h.prepared_bytes = prepared ? kPreparedBytes : 0;
    h.format_version = layout::kFormatVersion;
    h.header_size = layout::kHeaderSize;
    h.descriptor_size = layout::kDescriptorSize;
    StoreGeometry(h, options.max_metrics, options.max_slots, g);
    h.exemplar_record_size = g.exemplar_records ? layout::kExemplarRecordSize : 0;
    h.producer_record_size = layout::kProducerRecordSize;
    h.total_size = g.total_size;
    h.family_limit = options.family_limit;
    h.reuse_flags.store(layout::kReuseRecords, std::memory_order_relaxed);
    h.created_unix_ns = NowUnixNs();
    h.instance_id = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^ NowUnixNs();
    // Release: every field above is visible to whoever sees the magic.
    h.magic.store(layout::kMagic, std::memory_order_release);
    ValidateHeader(*s, g.total_size);
    RecordIdentity(*s);
  } catch (...) {
    shm_unlink(s->name.c_str());
    throw;
  }
  return Segment(std::move(s));
}

Segment Segment::Open(std::string_view name, Access access) {
  ValidateName(name);
  auto s = std::make_unique<detail::SegmentImpl>();
  s->name = name;
  s->path = "/dev/shm/" + s->name;
  s->access = access;
  auto mode = access == Access::kReadWrite ? bip::read_write : bip::read_only;
  try {
    s->shm = bip::shared_memory_object(bip::open_only, s->name.c_str(), mode);
  } catch (const bip::interprocess_exception& e) {
    throw Translate(e, s->path, "opening");
  }
  detail::CheckOwnership(s->shm.get_mapping_handle().handle, s->path, s->name);
  RecordIdentity(*s);
  // A creator may still be sizing and initialising it: wait, bounded, for the magic.
  auto deadline = std::chrono::steady_clock::now() + kOpenWait;
  int fd = s->shm.get_mapping_handle().handle;
  for (;;) {
    struct stat st {};
    if (fstat(fd, &st) != 0) throw SystemError("stat " + s->path, errno);
    auto size = static_cast<uint64_t>(st.st_size);
    if (size >= layout::kHeaderSize) {
      try {
        // Not MAP_POPULATE: the file is sparse, and faulting its holes in would
        // allocate them.
        s->region = bip::mapped_region(s->shm, mode);
      } catch (const bip::interprocess_exception& e) {
        throw Translate(e, s->path, "mapping");
      }
      if (s->region.get_size() != size)
        throw Error(Errc::kCorrupt, fmt::format("segment {} changed size while opening", s->path));
      uint64_t magic = s->header().magic.load(std::memory_order_acquire);
      if (magic == layout::kMagic) {
        ValidateHeader(*s, size);
        return Segment(std::move(s));
      }
      if (magic != 0)
        throw Error(Errc::kIncompatible,
                    fmt::format("{} is not a shmstats segment (magic {:#018x})", s->path, magic));
      s->region = bip::mapped_region();
    } else if (size != 0) {
      throw Error(Errc::kCorrupt, fmt::format("{} is not a shmstats segment: {} bytes is too "
                                              "small for its header",
                                              s->path, size));
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw Error(Errc::kTimeout,
                  fmt::format("segment {} was never initialised (its creator may have died): "
                              "remove it (statsctl remove {}) and create it again",
                              s->path, s->name));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Segment Segment::OpenOrCreate(std::string_view name, const SegmentOptions& options) {
  for (int attempt = 0;; ++attempt) {
    try {
      return Open(name, Access::kReadWrite);
    } catch (const Error& e) {
      if (e.code() != Errc::kNotFound || attempt >= 3) throw;
    }
    try {
      return Create(name, options);
    } catch (const Error& e) {
      if (e.code() != Errc::kAlreadyExists) throw;  // lost the race: open the winner's
    }
  }
}

bool Segment::Remove(std::string_view name) {
  ValidateName(name);
  std::string n(name);
  if (shm_unlink(n.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw SystemError("removing /dev/shm/" + n, errno);
}

bool Segment::Replaced() const {
  struct stat st {};
  if (stat(impl_->path.c_str(), &st) != 0) return true;
  return st.st_dev != impl_->dev || st.st_ino != impl_->ino;
}

SegmentInfo Segment::Info() const {
  const detail::SegmentImpl& s = *impl_;
  detail::CheckMappedSize(s);
  const layout::Header& h = s.header();
  SegmentInfo info;
  info.name = s.name;
  info.path = s.path;
  info.format_version = h.format_version;
  info.size_bytes = s.region.get_size();
  info.max_metrics = s.max_metrics;
  info.max_slots = s.max_slots;
  info.slots_used = std::min<uint64_t>(h.slots_used.load(std::memory_order_relaxed), s.max_slots);
  info.string_bytes = s.string_bytes;
  info.strings_used =
      std::min<uint64_t>(h.strings_used.load(std::memory_order_relaxed), s.string_bytes);
  info.registrations_refused = h.refused.load(std::memory_order_relaxed);
  info.deleted_total = h.deleted.load(std::memory_order_relaxed);
  info.revived_total = h.revived.load(std::memory_order_relaxed);
  info.refilled_total = h.refilled.load(std::memory_order_relaxed);
  info.overflowed_total = h.overflowed.load(std::memory_order_relaxed);
  info.family_table = s.family_table_offset != 0;
  info.family_limit = info.family_table ? h.family_limit : 0;
  info.created_unix_ns = h.created_unix_ns;
  info.instance_id = h.instance_id;
  info.descriptors_used = s.series_used();
  for (uint32_t i = 0, n = info.descriptors_used; i < n; ++i) {
    uint64_t state = s.descriptor(i).state.load(std::memory_order_relaxed) & layout::kStateMask;
    const uint64_t life = s.descriptor(i).life.load(std::memory_order_relaxed);
    const bool deleted =
        layout::GonePhaseOf(s.descriptor(i).gone.load(std::memory_order_relaxed)) !=
        layout::kPresent;
    info.metrics_used += state == layout::kPublished && !deleted &&
                         (life == 0 || layout::LifePhaseOf(life) == layout::kLiveOwned);
    info.series_deleted += state == layout::kPublished && deleted;
    info.metrics_abandoned += state == layout::kAbandoned;
    info.claims_dead +=
        state == layout::kClaimed &&
        detail::OwnerDead(s.descriptor(i).owner_pid.load(std::memory_order_relaxed));
  }
  process::Count(s, &info);
  producers::Count(s, &info);
  struct stat st {};
  if (fstat(s.shm.get_mapping_handle().handle, &st) == 0) {
    info.resident_bytes = static_cast<uint64_t>(st.st_blocks) * 512;
    info.mode = st.st_mode & 07777;
    info.uid = st.st_uid;
    info.gid = st.st_gid;
  }
  return info;
}

}  // namespace shmstats
