#include "retirement.h"

#include "history_time.h"
#include "shmstats/error.h"

namespace shmstats::daemon {

uint32_t Retirement::Run(const std::string& name) {
  if (segment_ && segment_->Replaced()) segment_.reset();
  const int64_t now = history::NowMs();
  if (!segment_ && now >= next_try_ms_) {
    try {
      segment_.emplace(Segment::Open(name, Access::kReadWrite));
    } catch (const Error&) {
      next_try_ms_ = now + 60'000;  // missing, or not ours to write: later
    }
  }
  if (!segment_) return 0;
  try {
    return segment_->RetireExited();
  } catch (const Error&) {
    segment_.reset();  // corrupt or replaced: the collector reports it
    return 0;
  }
}

}  // namespace shmstats::daemon
