// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fixed set of threads taking tasks from a bounded queue: the expensive requests
// of HTTP (the scrape and query lanes) and D-Bus run on these, so that a slow one
// never holds the thread that accepts the next, and a full queue is refused at once.
//
// Thread-safety: TryPost, Waiting and Stop may be called from any thread. Tasks run
// concurrently with each other (one per thread) and must not throw.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace shmstats::daemon {

class WorkerPool {
 public:
  WorkerPool(int threads, size_t capacity) : capacity_(capacity) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() { Stop(); }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool stopped: the caller refuses the request.
  bool TryPost(std::function<void()> task) {
    std::lock_guard lock(mu_);
    if (stopped_ || tasks_.size() >= capacity_) return false;
    tasks_.push_back(std::move(task));
    cv_.notify_one();
    return true;
  }

  // Tasks waiting for a thread now.
  size_t Waiting() {
    std::lock_guard lock(mu_);
    return tasks_.size();
  }

  // Drops what waits (destroyed on this thread) and joins the threads (running tasks
  // finish first).
  void Stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
      dropped.swap(tasks_);
    }
    cv_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopped_ || !tasks_.empty(); });
        if (stopped_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace shmstats::daemon
