// SPDX-License-Identifier: Apache-2.0
// A statsd line of a known series costs no allocation: operator new is counted
// while the listener ingests datagrams of series it has seen before.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "daemon/statsd/listener.h"
#include "shmstats/shmstats.h"

namespace {
std::atomic<uint64_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace shmstats::daemon {
namespace {

TEST(StatsdAllocation, AKnownSeriesCostsNoAllocation) {
  std::string name = "statsd-alloc-" + std::to_string(getpid());
  Segment::Remove(name);
  {
    StatsdListener listener(name, "", "");
    const std::string datagram =
        "api.requests:1|c|#env:prod,region:eu\nqueue:+2|g\nqueue:5|g\n"
        "db.query:12.5|ms|@0.5\npayload:512|h\nlatency:0.25:0.5|d|#tier:web";
    uint64_t start = allocations.load();
    listener.Ingest(datagram);  // registers the series: allocates, and the count sees it
    EXPECT_GT(allocations.load() - start, 0u);
    uint64_t before = allocations.load();
    for (int i = 0; i < 1000; ++i) listener.Ingest(datagram);
    EXPECT_EQ(allocations.load() - before, 0u);
    EXPECT_EQ(listener.lines(statsd::Result::kOk), 6u * 1001);
  }
  Segment::Remove(name);
}

}  // namespace
}  // namespace shmstats::daemon
