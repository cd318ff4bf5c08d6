// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the segment reader: each input is the bytes of a segment file
// in /dev/shm, which is opened read-only, read and described, as statsctl and
// shmstatsd would. A shmstats::Error from Open is a fine outcome. A crash, a
// sanitizer report, any other exception, an Error from Read or Info (they must not
// throw), a malformed snapshot or a hang is a bug.

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "layout.h"
#include "shmstats/shmstats.h"

namespace {

// One name per fuzzing process; the file is removed after every input.
const std::string& SegmentName() {
  static const std::string name = "fuzz-segment-reader-" + std::to_string(getpid());
  return name;
}

bool WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  return done == size;
}

// Aborts (a finding) unless the snapshot keeps the reader's promises.
void CheckSnapshot(const shmstats::Snapshot& snap, const shmstats::SegmentInfo& info) {
  for (const shmstats::MetricSnapshot& m : snap.metrics) {
    if (m.index >= info.max_metrics) abort();
    if (m.name.empty() || m.name.size() > shmstats::kMaxNameBytes) abort();
    const shmstats::HistogramValue& h = m.histogram;
    if (m.type != shmstats::MetricType::kHistogram) continue;
    if (h.counts.size() != h.bounds.size() + 1 || h.counts.size() > shmstats::kMaxBuckets) abort();
    uint64_t sum = 0;
    for (uint64_t c : h.counts) sum += c;
    if (sum != h.count) abort();
    for (size_t i = 1; i < h.bounds.size(); ++i)
      if (!(h.bounds[i - 1] < h.bounds[i])) abort();
    (void)shmstats::Quantile(h, 0.5);
  }
  for (const std::string& problem : snap.problems)
    if (problem.empty()) abort();
  if (info.slots_used > info.max_slots) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Open waits up to 2 s for an empty file or a zero magic (a creator still at
  // work): correct, covered once by the unit tests, and too slow to fuzz.
  if (size == 0) return 0;
  if (size >= shmstats::layout::kHeaderSize) {
    uint64_t magic;
    std::memcpy(&magic, data, sizeof magic);
    if (magic == 0) return 0;
  }
  const std::string& name = SegmentName();
  const std::string path = "/dev/shm/" + name;
  if (!WriteFile(path, data, size)) abort();

  bool opened = false;
  try {
    shmstats::Segment segment = shmstats::Segment::Open(name, shmstats::Access::kReadOnly);
    opened = true;
    unlink(path.c_str());  // the mapping stays
    shmstats::SegmentInfo info = segment.Info();
    CheckSnapshot(segment.Read(), info);
    for (const auto& p : segment.Producers())  // the producer table is untrusted too
      if (p.command.size() > 16 || p.job.size() > 64) abort();
    (void)segment.Replaced();
  } catch (const shmstats::Error& e) {
    if (opened || e.what()[0] == '\0') abort();
  }
  unlink(path.c_str());
  return 0;
}
