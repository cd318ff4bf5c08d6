// SPDX-License-Identifier: Apache-2.0
#pragma once

// One render shared by the scrapes waiting for it. A request is answered by the
// latest render that started at or after the request was received: its values were
// read after it asked, as if it had rendered alone, but a hundred scrapers queued
// behind one render cost one more render, not a hundred. The render is not kept
// after the last response that holds it is sent (at 100,000 series it is 13 MB).
//
// Thread-safety: Get may be called from any number of threads at once; one of them
// renders while the others wait for its result.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace shmstats::daemon {

class SharedRender {
 public:
  using Clock = std::chrono::steady_clock;

  // A render that started at or after `received`; `render` runs on this thread
  // when none did. An exception from `render` reaches its caller only.
  std::shared_ptr<const std::string> Get(Clock::time_point received,
                                         const std::function<std::string()>& render);

  // How many calls of Get are waiting for another thread's render now.
  int waiting();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool rendering_ = false;
  int waiting_ = 0;
  std::weak_ptr<const std::string> latest_;
  Clock::time_point latest_start_;
};

}  // namespace shmstats::daemon
