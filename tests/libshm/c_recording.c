// SPDX-License-Identifier: Apache-2.0
/* The C ABI's inline recording functions compiled as C11 (not C++), called by the
 * zero-system-call test (process_seccomp_test.cc) inside its seccomp sandbox. */
#include "c_recording.h"

void shmstats_test_c_record(const shmstats_test_c_handles* h, int times) {
  int i;
  for (i = 0; i < times; ++i) {
    shmstats_counter_inc(h->counter, 1);
    shmstats_gauge_set(h->set, i - 0.5);
    shmstats_gauge_add(h->add, 0.5);
    shmstats_gauge_sub(h->sub, 0.25);
    shmstats_histogram_observe(&h->explicit_h, i % 100);
    shmstats_histogram_observe(&h->exponential_h, i % 5000);
    shmstats_counter_inc(h->striped, 1);
    shmstats_histogram_observe(&h->striped_h, i % 100);
  }
}

void shmstats_test_c_time(const shmstats_histogram* h, int times) {
  int i;
  for (i = 0; i < times; ++i) {
    uint64_t start = shmstats_timer_now();
    shmstats_histogram_observe_elapsed(h, start);
  }
}

size_t shmstats_test_c_bucket_index(const shmstats_histogram* h, double v) {
  return shmstats_histogram_bucket_index(h, v);
}
