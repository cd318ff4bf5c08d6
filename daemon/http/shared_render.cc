// SPDX-License-Identifier: Apache-2.0
#include "daemon/http/shared_render.h"

namespace shmstats::daemon {

std::shared_ptr<const std::string> SharedRender::Get(Clock::time_point received,
                                                     const std::function<std::string()>& render) {
  std::unique_lock lock(mu_);
  std::shared_ptr<const std::string> mine;  // the render this thread made, if any
  for (;;) {
    if (latest_start_ >= received) {
      if (auto latest = latest_.lock()) return latest;
    }
    if (rendering_) {  // wait for it: it may have started after `received`
      ++waiting_;
      cv_.wait(lock);
      --waiting_;
      continue;
    }
    rendering_ = true;
    Clock::time_point start = Clock::now();
    lock.unlock();
    std::shared_ptr<const std::string> body;
    try {
      body = std::make_shared<const std::string>(render());
    } catch (...) {
      lock.lock();
      rendering_ = false;
      cv_.notify_all();
      throw;
    }
    lock.lock();
    rendering_ = false;
    latest_ = body;
    latest_start_ = start;
    mine = std::move(body);  // alive until returned: the waiters find it
    cv_.notify_all();
  }
}

int SharedRender::waiting() {
  std::lock_guard lock(mu_);
  return waiting_;
}

}  // namespace shmstats::daemon
