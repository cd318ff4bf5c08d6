// SPDX-License-Identifier: Apache-2.0
/* Loops over the C ABI's inline recording functions, compiled as C (c_abi_loops.c). */
#ifndef SHMSTATS_BENCH_C_ABI_LOOPS_H_
#define SHMSTATS_BENCH_C_ABI_LOOPS_H_

#include "shmstats/shmstats_c.h"

#ifdef __cplusplus
extern "C" {
#endif

void c_counter_inc_loop(shmstats_counter c, long n);
/* Observes values[i % 1024] for i < n. */
void c_histogram_observe_loop(const shmstats_histogram* h, const double* values, long n);
/* Times n empty operations into h (shmstats_timer_now, shmstats_histogram_observe_elapsed). */
void c_timer_loop(const shmstats_histogram* h, long n);

#ifdef __cplusplus
}
#endif

#endif
