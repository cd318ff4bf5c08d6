// SPDX-License-Identifier: Apache-2.0
#include "daemon/retirement.h"

#include <optional>

#include "daemon/mapped_read.h"
#include "history/time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {

uint32_t Retirement::Run(const std::string& name) {
  const int64_t now = history::NowMs();
  if (now < next_try_ms_) return 0;
  try {
    // Mapped for this pass only: the scan touches every descriptor, and a mapping
    // kept beside the collector's would keep them resident twice in this process
    // (12.5 MB at 100,000 series).
    // The Segment outside the guarded reads: a truncation that lands inside one still
    // unmaps it.
    std::optional<Segment> segment;
    ReadMapped(name, [&] { segment.emplace(Segment::Open(name, Access::kReadWrite)); });
    uint32_t retired = 0;
    ReadMapped(name, [&] { retired = segment->RetireExited(); });
    return retired;
  } catch (const Error& e) {
    // Missing or not ours to write: tried again a minute later. Corrupt or
    // replaced under us: the collector reports it; tried again next tick.
    if (e.code() == Errc::kNotFound || e.code() == Errc::kPermission) next_try_ms_ = now + 60'000;
    return 0;
  }
}

}  // namespace shmstats::daemon
