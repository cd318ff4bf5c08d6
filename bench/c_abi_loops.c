// SPDX-License-Identifier: Apache-2.0
/* The C ABI's inline recording compiled as C11, in loops the benchmark calls
 * (c_abi_bench.cc): n operations per call, so the call costs nothing per operation. */
#include "c_abi_loops.h"

void c_counter_inc_loop(shmstats_counter c, long n) {
  long i;
  for (i = 0; i < n; ++i) shmstats_counter_inc(c, 1);
}

void c_histogram_observe_loop(const shmstats_histogram* h, const double* values, long n) {
  long i;
  for (i = 0; i < n; ++i) shmstats_histogram_observe(h, values[i & 1023]);
}

void c_timer_loop(const shmstats_histogram* h, long n) {
  long i;
  for (i = 0; i < n; ++i) {
    uint64_t start = shmstats_timer_now();
    shmstats_histogram_observe_elapsed(h, start);
  }
}
