// SPDX-License-Identifier: Apache-2.0
/* Handles for c_recording.c: what the seccomp test registers through the C ABI. */
#ifndef SHMSTATS_TESTS_C_RECORDING_H_
#define SHMSTATS_TESTS_C_RECORDING_H_

#include "shmstats/shmstats_c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct shmstats_test_c_handles {
  shmstats_counter counter;
  shmstats_gauge set, add, sub;
  shmstats_histogram explicit_h, exponential_h;
  shmstats_counter striped;     /* SHMSTATS_STRIPING_PER_CPU */
  shmstats_histogram striped_h; /* SHMSTATS_STRIPING_PER_CPU, explicit */
} shmstats_test_c_handles;

/* The same loop as the C++ test's, through the C inline functions. */
void shmstats_test_c_record(const shmstats_test_c_handles* h, int times);

/* Times an empty operation `times` times into h with shmstats_timer_now and
 * shmstats_histogram_observe_elapsed. */
void shmstats_test_c_time(const shmstats_histogram* h, int times);

/* shmstats_histogram_bucket_index compiled as C. */
size_t shmstats_test_c_bucket_index(const shmstats_histogram* h, double v);

#ifdef __cplusplus
}
#endif

#endif
