// SPDX-License-Identifier: Apache-2.0
// populate: fills a segment with N counters of one family (two labels each, as
// `instance="host-K", shard="K % 16"`), each incremented K+1 times' worth, for the
// whole-process scale measurements of bench/scale.sh. The segment is
// created with the default options (131,072 series) if it does not exist.
// usage: populate SEGMENT N

#include <cstdlib>
#include <iostream>
#include <string>

#include "shmstats/shmstats.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: populate SEGMENT N\n";
    return 2;
  }
  const long n = std::strtol(argv[2], nullptr, 10);
  try {
    shmstats::Segment s = shmstats::Segment::OpenOrCreate(argv[1], {});
    for (long k = 0; k < n; ++k) {
      s.RegisterCounter(
           {"scale_requests_total",
            {{"instance", "host-" + std::to_string(k)}, {"shard", std::to_string(k % 16)}},
            "Requests served",
            ""})
          .Inc(static_cast<uint64_t>(k + 1));
    }
  } catch (const std::exception& e) {
    std::cerr << "populate: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
