// SPDX-License-Identifier: Apache-2.0
// The producer table: records of the processes that register series.

#include "producers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "names.h"
#include "ownership.h"
#include "reuse.h"
#include "shmstats/error.h"

namespace shmstats::producers {
namespace {

using layout::ProducerRecord;

uint64_t NowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// This process's command name: /proc/self/comm (its own entry, which every sandbox
// leaves it), else the calling thread's name.
std::string Comm() {
  char buf[layout::kCommBytes + 1] = {};
  int fd = ::open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = ::read(fd, buf, layout::kCommBytes);
    ::close(fd);
    if (n > 0) return std::string(buf, static_cast<size_t>(n) - (buf[n - 1] == '\n' ? 1 : 0));
  }
  if (::prctl(PR_GET_NAME, buf) == 0) return std::string(buf, strnlen(buf, layout::kCommBytes));
  return {};
}

bool OptedOut(const char* env) {
  if (!env) return false;
  std::string v(env);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  return v == "0" || v == "no" || v == "false" || v == "off";
}

std::string JobOf(const detail::SegmentImpl& s) {
  if (s.producer_job) return *s.producer_job;
  const char* env = std::getenv("SHMSTATS_JOB");
  if (!env) return {};
  try {
    ValidateJob(env);
    return env;
  } catch (const Error&) {
    return {};  // set-up through the environment never fails a registration
  }
}

uint32_t FlagsOf(const detail::SegmentImpl& s) {
  const bool allow =
      s.producer_process_metrics.value_or(!OptedOut(std::getenv("SHMSTATS_PROCESS_METRICS")));
  return allow ? layout::kProducerProcessMetrics : 0;
}

// Writes job and flags under the record's seq counter (odd while they change).
void WriteMutable(ProducerRecord& r, const std::string& job, uint32_t flags) {
  const uint32_t seq = r.seq.load(std::memory_order_relaxed);
  r.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::memset(r.job, 0, sizeof r.job);
  std::memcpy(r.job, job.data(), std::min(job.size(), sizeof r.job));
  r.flags.store(flags, std::memory_order_relaxed);
  r.seq.store(seq + 2, std::memory_order_release);
}

// Takes a record: from the cursor while it has room, else one whose producer (or
// claimer) is gone. Returns its index and sets *generation, or returns -1.
int64_t Take(const detail::SegmentImpl& s, uint32_t self, uint64_t* generation) {
  layout::Header& h = s.header();
  uint64_t used = h.producers_used.load(std::memory_order_relaxed);
  while (used < s.producer_capacity) {
    // Seq_cst: a reuser of deleted series reads producers_used so (reuse.cc, Holders).
    if (h.producers_used.compare_exchange_weak(used, used + 1, std::memory_order_seq_cst,
                                               std::memory_order_relaxed)) {
      *generation = 0;
      s.producer(static_cast<uint32_t>(used))
          .state.store(layout::ProducerState(0, self, layout::kProducerClaiming),
                       std::memory_order_relaxed);
      return static_cast<int64_t>(used);
    }
  }
  // The record whose producer exited longest ago (least recent activity) goes first.
  // Ages are read first and liveness (a system call or two each) asked oldest first,
  // up to the first producer gone: a table full of records of short-lived processes
  // (statsctl in a shell loop) then costs one liveness test, not one per record.
  struct Candidate {
    uint64_t age;
    uint64_t state;
    uint32_t index;
  };
  std::vector<Candidate> candidates;
  candidates.reserve(s.producer_capacity);
  for (uint32_t i = 0; i < s.producer_capacity; ++i) {
    ProducerRecord& r = s.producer(i);
    const uint64_t state = r.state.load(std::memory_order_acquire);
    const uint64_t phase = layout::ProducerPhaseOf(state);
    if (phase == layout::kProducerAttached)
      candidates.push_back(
          {std::max(r.attached_unix_ns, r.last_activity_ns.load(std::memory_order_relaxed)), state,
           i});
    else if (phase == layout::kProducerClaiming)
      candidates.push_back({0, state, i});
    // free below the cursor: a taker is about to write it (if it died, the room is lost)
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.age < b.age; });
  int64_t best = -1;
  uint64_t best_state = 0;
  for (const Candidate& c : candidates) {
    const ProducerRecord& r = s.producer(c.index);
    const bool gone = layout::ProducerPhaseOf(c.state) == layout::kProducerAttached
                          // Held by anyone: a child forked after it registered may still
                          // record through its handles (reuse.h needs its start time).
                          ? !process::Holding(s.fd(), r.pid, r.start)
                          : detail::OwnerDead(layout::ProducerActor(c.state));
    if (gone) {
      best = c.index;
      best_state = c.state;
      break;
    }
  }
  if (best < 0) return -1;
  const uint64_t next = (best_state >> 32) + 1;
  if (!s.producer(static_cast<uint32_t>(best))
           .state.compare_exchange_strong(
               best_state, layout::ProducerState(next, self, layout::kProducerClaiming),
               std::memory_order_acq_rel))
    return -1;  // another producer took it first: rare, and never fails a registration
  h.producers_reused.fetch_add(1, std::memory_order_relaxed);
  *generation = next;
  return best;
}

}  // namespace

void ValidateJob(std::string_view job) {
  bool ok = job.size() <= layout::kJobBytes && names::IsValidUtf8(job);
  for (unsigned char c : job) ok = ok && c >= 0x20 && c != 0x7f;
  if (!ok)
    throw Error(Errc::kInvalidArgument,
                fmt::format("invalid job name '{}': use at most {} bytes of UTF-8 without "
                            "control characters",
                            job, layout::kJobBytes));
}

uint64_t Attach(detail::SegmentImpl& s, const process::Identity& self) {
  if (s.producer_capacity == 0) return 0;
  // A process that maps the segment twice (two Segment objects) keeps one record.
  const auto used = static_cast<uint32_t>(std::min<uint64_t>(
      s.header().producers_used.load(std::memory_order_acquire), s.producer_capacity));
  for (uint32_t i = 0; i < used; ++i) {
    const ProducerRecord& r = s.producer(i);
    const uint64_t state = r.state.load(std::memory_order_acquire);
    if (layout::ProducerPhaseOf(state) == layout::kProducerAttached &&
        layout::ProducerActor(state) == self.pid && r.pid == self.pid && r.start == self.start)
      return layout::ProducerRef(i, state >> 32);
  }
  uint64_t generation = 0;
  const int64_t index = Take(s, self.pid, &generation);
  if (index < 0) {
    // Seq_cst: before this producer's first lookup, for reusers (reuse.cc, Holders).
    s.header().producers_refused.fetch_add(1, std::memory_order_seq_cst);
    return 0;
  }
  ProducerRecord& r = s.producer(static_cast<uint32_t>(index));
  r.pid = self.pid;
  r.uid = static_cast<uint32_t>(::getuid());
  r.start = self.start;
  r.attached_unix_ns = NowUnixNs();
  r.last_activity_ns.store(0, std::memory_order_relaxed);
  r.dropped_before.store(0, std::memory_order_relaxed);
  const std::string comm = Comm();
  std::memset(r.comm, 0, sizeof r.comm);
  std::memcpy(r.comm, comm.data(), std::min(comm.size(), sizeof r.comm - 1));
  WriteMutable(r, JobOf(s), FlagsOf(s));
  // Release: every field is written before a reader acquires kProducerAttached.
  // Seq_cst: a reuser that sees a deletion following this process's first lookup
  // sees this record (reuse.h).
  r.state.store(layout::ProducerState(generation, self.pid, layout::kProducerAttached),
                std::memory_order_seq_cst);
  return layout::ProducerRef(static_cast<uint32_t>(index), generation);
}

void Update(detail::SegmentImpl& s, uint64_t ref) {
  const auto index = static_cast<uint32_t>(ref) - 1;
  if (ref == 0 || index >= s.producer_capacity) return;
  ProducerRecord& r = s.producer(index);
  const uint64_t state = r.state.load(std::memory_order_acquire);
  if ((state >> 32) != (ref >> 32) || layout::ProducerPhaseOf(state) != layout::kProducerAttached)
    return;
  WriteMutable(r, JobOf(s), FlagsOf(s));
}

std::vector<ProducerInfo> Read(const detail::SegmentImpl& s, bool with_series) {
  std::vector<ProducerInfo> out;
  if (s.producer_capacity == 0) return out;
  const auto used = static_cast<uint32_t>(std::min<uint64_t>(
      s.header().producers_used.load(std::memory_order_acquire), s.producer_capacity));
  std::unordered_map<uint64_t, size_t> by_ref;
  process::Liveness live(s.fd());
  for (uint32_t i = 0; i < used; ++i) {
    const ProducerRecord& shared = s.producer(i);
    // A record changes when it is taken again: copy it between two loads of its state
    // word, and its job between two loads of its seq counter.
    for (int attempt = 0; attempt < 4; ++attempt) {
      const uint64_t state = shared.state.load(std::memory_order_acquire);
      if (layout::ProducerPhaseOf(state) != layout::kProducerAttached) break;
      const uint32_t seq = shared.seq.load(std::memory_order_acquire);
      ProducerRecord r;
      std::memcpy(static_cast<void*>(&r), static_cast<const void*>(&shared), sizeof r);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (shared.state.load(std::memory_order_relaxed) != state ||
          shared.seq.load(std::memory_order_relaxed) != seq || (seq & 1))
        continue;
      ProducerInfo p;
      p.ref = layout::ProducerRef(i, state >> 32);
      p.pid = r.pid;
      p.start_ticks = r.start;
      p.uid = r.uid;
      p.command.assign(r.comm, strnlen(r.comm, sizeof r.comm));
      p.job.assign(r.job, strnlen(r.job, sizeof r.job));
      // Untrusted bytes: shown only if they are text.
      if (!names::IsValidUtf8(p.command)) p.command = "?";
      if (!names::IsValidUtf8(p.job)) p.job = "?";
      p.attached_unix_ns = r.attached_unix_ns;
      p.last_activity_unix_ns = r.last_activity_ns.load(std::memory_order_relaxed);
      p.process_metrics =
          (r.flags.load(std::memory_order_relaxed) & layout::kProducerProcessMetrics) != 0;
      p.alive = live.Alive(p.pid, p.start_ticks);
      by_ref[p.ref] = out.size();
      out.push_back(std::move(p));
      break;
    }
  }
  // The series each created: published descriptors that name it (process-scoped ones
  // only while live).
  for (uint32_t i = 0, n = with_series ? s.series_used() : 0; i < n; ++i) {
    const layout::Descriptor& d = s.descriptor(i);
    if ((d.state.load(std::memory_order_acquire) & layout::kStateMask) != layout::kPublished)
      continue;
    const uint64_t life = d.life.load(std::memory_order_acquire);
    if (life != 0 && layout::LifePhaseOf(life) != layout::kLiveOwned) continue;
    if (auto it = by_ref.find(d.producer); it != by_ref.end()) ++out[it->second].series;
  }
  return out;
}

void NoteActivity(const detail::SegmentImpl& s, const std::vector<uint64_t>& refs,
                  uint64_t unix_ns) {
  for (uint64_t ref : refs) {
    const auto index = static_cast<uint32_t>(ref) - 1;
    if (ref == 0 || index >= s.producer_capacity) continue;
    ProducerRecord& r = s.producer(index);
    const uint64_t state = r.state.load(std::memory_order_acquire);
    if ((state >> 32) == (ref >> 32) && layout::ProducerPhaseOf(state) == layout::kProducerAttached)
      r.last_activity_ns.store(unix_ns, std::memory_order_relaxed);
  }
}

void Count(const detail::SegmentImpl& s, SegmentInfo* info) {
  const layout::Header& h = s.header();
  info->producers_max = s.producer_capacity;
  info->producers_used = static_cast<uint32_t>(
      std::min<uint64_t>(h.producers_used.load(std::memory_order_relaxed), s.producer_capacity));
  info->producers_refused = h.producers_refused.load(std::memory_order_relaxed);
  info->producers_reused = h.producers_reused.load(std::memory_order_relaxed);
}

}  // namespace shmstats::producers

namespace shmstats {

void Segment::SetJob(std::string_view job) {
  impl_->RequireWritable("set the job name");
  producers::ValidateJob(job);
  std::lock_guard lock(impl_->process_mutex);
  impl_->producer_job = std::string(job);
  if (impl_->producer_pid == process::Self().pid) producers::Update(*impl_, impl_->producer_ref);
}

void Segment::ForgoProducerRecord() {
  impl_->RequireWritable("forgo the producer record");
  // Visible to reusers of deleted series all the same (reuse.h); if the kernel
  // refuses the lock, the record is kept.
  if (!reuse::AnnounceRecordless(*impl_)) return;
  std::lock_guard lock(impl_->process_mutex);
  // As if attached already, with no record (ref 0): registrations then skip the table.
  impl_->producer_ref = 0;
  impl_->producer_pid.store(process::SelfPid(), std::memory_order_release);
}

void Segment::SetProcessMetrics(bool allow) {
  impl_->RequireWritable("set whether process metrics are exported");
  std::lock_guard lock(impl_->process_mutex);
  impl_->producer_process_metrics = allow;
  if (impl_->producer_pid == process::Self().pid) producers::Update(*impl_, impl_->producer_ref);
}

std::vector<ProducerInfo> Segment::Producers(bool with_series) const {
  detail::CheckMappedSize(*impl_);
  return producers::Read(*impl_, with_series);
}

void Segment::NoteProducerActivity(const std::vector<uint64_t>& refs, uint64_t unix_ns) {
  impl_->RequireWritable("note producer activity");
  detail::CheckMappedSize(*impl_);
  producers::NoteActivity(*impl_, refs, unix_ns);
}

}  // namespace shmstats
