// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shmstats/metric_spec.h"
#include "shmstats/metrics.h"
#include "shmstats/snapshot.h"

namespace shmstats {

namespace detail {
struct SegmentImpl;  // the mapping; private to libshm
}

// Capacity and permissions, fixed when a segment is created.
// The file is sparse: tmpfs allocates its pages as they are used, so the defaults
// cost about 4 MiB (the two indexes) until series are registered.
struct SegmentOptions {
  uint32_t max_metrics = 1 << 17;  // series (128-byte descriptors), 1 to 2^22
  uint32_t max_slots = 1 << 24;    // 8-byte value slots; a metric takes a multiple of 8
  uint64_t string_bytes = 0;       // names, labels, help and units; 0: 512 per metric
  // Series a family (metric name) may have before new label sets go to its overflow
  // series (MetricSpec::family_limit); 0: no limit. A family's own limit wins.
  uint32_t family_limit = 0;
  uint32_t max_producers = 256;  // producer records (128 bytes each, reserved at creation),
                                 // 1 to 2^16; see Segment::Producers
  mode_t mode = 0640;            // group-readable by default; umask does not apply
  std::optional<gid_t> group;    // chgrp the segment at creation
  // Exemplar records (576 bytes each, allocated as used), 0 to 2^22: a counter with
  // exemplars takes one, a histogram one per bucket. 0: none (exemplars are then
  // dropped). kAutomatic: max_metrics / 4, from 16 to 4096.
  static constexpr uint32_t kAutomatic = ~0u;
  uint32_t exemplar_records = kAutomatic;
};

enum class Access { kReadOnly, kReadWrite };

// One metric family as `statsctl info --families` lists it.
struct FamilyInfo {
  std::string name;
  MetricType type = MetricType::kCounter;
  uint32_t series = 0;           // shown now, its overflow series included
  uint32_t overflow_series = 0;  // 1 if its overflow series exists
  uint32_t limit = 0;            // its limit (own, or the segment's default); 0: none
  uint64_t overflowed = 0;       // registrations sent to its overflow series
};

// What Segment::StoreExemplar did.
enum class ExemplarResult {
  kStored,      // it is the series' (or bucket's) exemplar now
  kSuperseded,  // another exemplar of the same record was being stored at that instant
  kNoRoom,      // the exemplar region is full (or absent): counted, and dropped
};

// One process that registered series in the segment (its producer record).
struct ProducerInfo {
  uint64_t ref = 0;  // names the record (and its reuse generation); series carry it
  uint32_t pid = 0;
  uint64_t start_ticks = 0;  // start time, clock ticks after boot (the pid-reuse guard)
  uint32_t uid = 0;
  std::string command;                 // its command name (comm, at most 15 bytes)
  std::string job;                     // "" when it set none
  uint64_t attached_unix_ns = 0;       // its first registration
  uint64_t last_activity_unix_ns = 0;  // the last shmstatsd tick in which one of its series
                                       // changed; 0: none seen yet
  bool process_metrics = true;         // shmstatsd may export its CPU, memory, fds and threads
  bool alive = false;   // it still runs (its owner lock, as for process-scoped series)
  uint32_t series = 0;  // published series it created that still exist
};

// What `statsctl info` shows: where a segment lives and how full it is.
struct SegmentInfo {
  std::string name;
  std::string path;  // /dev/shm/<name>
  uint32_t format_version = 0;
  uint64_t size_bytes = 0;
  uint32_t max_metrics = 0;
  uint32_t metrics_used = 0;       // published descriptors
  uint32_t metrics_abandoned = 0;  // given up by a registrant (lost a race, or refused)
  uint32_t descriptors_used = 0;   // handed out (published, abandoned, or claimed by a
                                   // registrant that died); the others are free
  uint32_t claims_dead = 0;        // still claimed by a process that is gone (if it had linked
                                   // the series, the next registration of it publishes it)
  // Process-scoped series (Scope::kProcess): whose owner lives; whose owner has
  // exited but which are not retired yet; retired (folded) and reusable.
  uint32_t process_series_live = 0;
  uint32_t process_series_dead = 0;
  uint32_t process_series_reusable = 0;
  uint64_t process_series_retired_total = 0;  // retirements since creation
  uint64_t process_series_reused_total = 0;   // descriptors reused since creation
  uint64_t max_slots = 0;
  uint64_t slots_used = 0;
  uint64_t string_bytes = 0;  // room for names, labels, help and units
  uint64_t strings_used = 0;
  uint64_t registrations_refused = 0;  // refused because the segment was full
  // Deleted series (Segment::Delete): hidden now; their room goes back to their key,
  // or to another key once no process can still hold a handle to it.
  uint32_t series_deleted = 0;
  uint64_t deleted_total = 0;     // deletions since creation
  uint64_t revived_total = 0;     // deleted series registered again since creation
  uint64_t refilled_total = 0;    // deleted series' room given to another key since creation
  uint64_t overflowed_total = 0;  // registrations sent to an overflow series
  uint32_t family_limit = 0;      // the segment's default series per family; 0: none
  bool family_table = false;      // false: made before family limits (none applies)
  uint64_t resident_bytes = 0;    // tmpfs pages allocated to the file (memory it costs)
  uint64_t created_unix_ns = 0;
  uint64_t instance_id = 0;
  // The producer table (0 capacity: a segment made before it existed).
  uint32_t producers_max = 0;
  uint32_t producers_used = 0;     // records handed out (attached or exited)
  uint64_t producers_refused = 0;  // producers left without a record: the table was full
  uint64_t producers_reused = 0;   // records of exited producers taken by new ones
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A mapped metrics segment in /dev/shm (tmpfs).
//
// Thread-safety: every method may be called from any thread at once, and any number
// of processes may map the same segment. Registration is lock-free: a process killed
// at any instant leaves the segment usable for everyone else.
// Ownership: the Segment owns the mapping; handles and pointers it returns stay valid
// until it is destroyed. Moving it keeps them valid.
// Errors: every method here throws shmstats::Error with a message naming the segment
// and the cause (invalid name, missing, incompatible version, permission, full...).
// Recording through the returned handles never fails.
class Segment {
 public:
  // Creates a new segment. Throws kAlreadyExists if the name is taken.
  static Segment Create(std::string_view name, const SegmentOptions& options = {});
  // Opens an existing segment, validating its header. Waits up to ~2 s for a segment
  // that another process is still initialising.
  static Segment Open(std::string_view name, Access access = Access::kReadWrite);
  // Opens the segment, creating it with `options` if it does not exist. Concurrent
  // callers race safely: exactly one creates and initialises it.
  static Segment OpenOrCreate(std::string_view name, const SegmentOptions& options = {});
  // Unlinks the segment; processes that mapped it keep their mapping. Returns false
  // if there was no such segment.
  static bool Remove(std::string_view name);
  // Throws kInvalidArgument unless name is 1-200 of [A-Za-z0-9._-] and not . or ..
  static void ValidateName(std::string_view name);

  Segment(Segment&&) noexcept;
  Segment& operator=(Segment&&) noexcept;
  ~Segment();

  // Find-or-create by (name, labels). Throws kTypeMismatch when the series exists
  // with another type (or, for histograms, other buckets), kFull when there is no
  // room (and counts the refusal in the header), kInvalidArgument on bad names.
  // `striping` (see Striping) applies when the series is created.
  // REQUIRES: opened with Access::kReadWrite.
  Counter RegisterCounter(const MetricSpec& spec, Striping striping = Striping::kShared);
  // A counter of doubles (see FloatCounter): a series of its own kind, so that
  // registering the same name and labels as an integer counter is kTypeMismatch,
  // and the reverse. spec.scope must be Scope::kShared (kInvalidArgument otherwise).
  FloatCounter RegisterFloatCounter(const MetricSpec& spec);
  Gauge RegisterGauge(const MetricSpec& spec);
  Histogram RegisterHistogram(const MetricSpec& spec, const Buckets& buckets,
                              Striping striping = Striping::kShared);

  // Stores an exemplar (OpenMetrics) with the series of a counter, or with the bucket
  // of a histogram's series that Observe(value) counts in, replacing the one there:
  // `labels` (at most 128 UTF-8 characters of names and values, as OpenMetrics
  // limits them), `value` (the increment, or the observation) and the current time.
  // It does not record: call Inc or Observe as well. Safe against concurrent writers
  // and readers in any process (a seqlock per record); a writer killed midway leaves
  // the record to the next one. Not the hot path: it validates the labels, finds the
  // series (once per handle and process, then cached) and reads the clock.
  // Throws kInvalidArgument for labels that break the rules, a NaN observation, or a
  // handle of another segment or of a process-scoped series (shared series only).
  ExemplarResult StoreExemplar(const Counter& c, double value, const Labels& labels);
  ExemplarResult StoreExemplar(const FloatCounter& c, double value, const Labels& labels);
  ExemplarResult StoreExemplar(const Histogram& h, double value, const Labels& labels);

  // Copies every published metric. Never throws for a bad descriptor: it is skipped
  // and described in Snapshot::problems.
  Snapshot Read() const;

  // Resets each metric for which `select` returns true, and returns those metrics
  // with the values they had. A counter's or histogram's value moves into its reset
  // total (so value + reset total never drops, see MetricSnapshot); a gauge becomes
  // zero. An increment racing the reset lands either in the returned value or in
  // the new one, never lost. REQUIRES: opened with Access::kReadWrite. Throws
  // Error(kSystem), resetting nothing, if the reset cannot be announced to reusers of
  // deleted series (a lock on the segment file, opened again by its path).
  std::vector<MetricSnapshot> Reset(const std::function<bool(const MetricSnapshot&)>& select);

  SegmentInfo Info() const;

  // Deletes each shared series for which `select` (given its values) returns
  // true: readers stop showing it at once (its process-scoped series with it), and
  // returns those series with the values they had. Its descriptor, strings and slots stay its
  // key's: registering the same name and labels again (with the same type and
  // buckets) brings it back from zero, and handles taken before the delete record
  // into it again. Until then what they record is never shown (and is zeroed by the
  // next registration). Once fresh room has run out, its room may go to another key,
  // but only when no process can hold a handle to it any more (every process that
  // registered before the delete has exited or declared, DroppedDeletedBefore, that
  // it dropped them): a handle never writes into another series. The family's
  // series count drops by one. REQUIRES: opened with Access::kReadWrite.
  std::vector<MetricSnapshot> Delete(const std::function<bool(const MetricSnapshot&)>& select);

  // Deletions since the segment was created: a cache of handles (statsd's) whose
  // count changed registers its series again so that deleted ones come back.
  uint64_t Deletions() const noexcept;

  // For a long-lived producer that drops its handles to deleted series (a cache that
  // starts over when Deletions() changes): a deleted series' room goes to another key
  // only once no process can still hold a handle to it, and a process whose producer
  // record predates the deletion counts as holding one unless it declares otherwise.
  // DeletionMark() is the clock deletions are stamped with (ticks of CLOCK_BOOTTIME).
  // DroppedDeletedBefore(mark) declares that no handle taken through this Segment
  // object, kept or in use by any thread, is to a series deleted before `mark`: call
  // it with a mark read BEFORE checking Deletions() and dropping every handle if it
  // changed, from the only thread that uses those handles (or after every such thread
  // has passed that point). The process's record takes the least mark of its Segment
  // objects on this file that registered series: one that never declares keeps it at
  // 0. The record speaks for the process's forked children too (they share it until
  // they register): do not declare while a child forked after this Segment's first
  // registration may still use handles it inherited. Thread-safe.
  static uint64_t DeletionMark() noexcept;
  void DroppedDeletedBefore(uint64_t mark);

  // Every family with a series shown, most series first (see FamilyInfo).
  std::vector<FamilyInfo> Families() const;

  // Producer records: every process that registers a series leaves one (pid, start
  // time, uid, command, job, when it attached), made at its first registration and
  // kept after it exits until a new producer needs the room. A full table never
  // refuses a registration: the producer goes without a record, counted in
  // SegmentInfo::producers_refused.
  // The job name of this process's record, and whether shmstatsd may export its
  // process metrics; by default $SHMSTATS_JOB and $SHMSTATS_PROCESS_METRICS (0, no,
  // false or off opt out), read at the first registration. Either may be called
  // before or after it. Throws kInvalidArgument for a job of more than 56 bytes, not
  // UTF-8, or with control characters. REQUIRES: opened with Access::kReadWrite.
  void SetJob(std::string_view job);
  void SetProcessMetrics(bool allow);
  // This process registers without a producer record (and without taking its owner
  // lock for one): for a process that records once and exits at once, whose record
  // would say little and take the room of another's. Call before the first
  // registration; a child forked later makes its own record. REQUIRES: opened with
  // Access::kReadWrite.
  void ForgoProducerRecord();
  // The records in use, in table order, with liveness decided without /proc (the
  // owner lock). Never throws for a bad record: it is skipped. `with_series` false
  // leaves ProducerInfo::series 0 and spares a pass over every descriptor.
  std::vector<ProducerInfo> Producers(bool with_series = true) const;
  // shmstatsd: stores `unix_ns` as the last activity of the producers `refs` name
  // (ProducerInfo::ref; a ref whose record was taken since is ignored).
  // REQUIRES: opened with Access::kReadWrite.
  void NoteProducerActivity(const std::vector<uint64_t>& refs, uint64_t unix_ns);

  // Retires the process-scoped series whose owner has exited: folds a counter's or
  // histogram's values into its shared series, drops a gauge, and makes the
  // descriptor reusable; also finishes what a folder or reuser killed midway left.
  // Lock-free; safe against concurrent registrations, readers and other retirers.
  // Returns how many series it retired. REQUIRES: opened with Access::kReadWrite.
  uint32_t RetireExited();

  // True when /dev/shm/<name> no longer is the segment this object mapped (removed
  // or re-created): readers that live long should then open it again.
  bool Replaced() const;

  const std::string& name() const noexcept;

 private:
  explicit Segment(std::unique_ptr<detail::SegmentImpl> impl);
  std::unique_ptr<detail::SegmentImpl> impl_;
};

}  // namespace shmstats
