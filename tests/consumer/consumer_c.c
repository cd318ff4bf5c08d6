// SPDX-License-Identifier: Apache-2.0
/* A C11 program that uses only the C header of the installed package: creates a
 * segment, registers every kind of metric, records with the inline functions, reads
 * a snapshot back, resets, and checks the errors. Exit status 0 means it all held.
 * usage: consumer_c TAG */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <shmstats/shmstats_c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "consumer_c: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

static const shmstats_metric_value* find(const shmstats_snapshot* snap, const char* name) {
  size_t i;
  for (i = 0; i < shmstats_snapshot_count(snap); ++i) {
    const shmstats_metric_value* m = shmstats_snapshot_metric(snap, i);
    if (strcmp(m->name, name) == 0) return m;
  }
  return NULL;
}

int main(int argc, char** argv) {
  char name[128];
  shmstats_segment* seg = NULL;
  shmstats_segment* other = NULL;
  shmstats_segment_options so;
  shmstats_metric_options mo;
  shmstats_counter requests, striped, own;
  uint32_t retired = 1;
  shmstats_gauge temperature;
  shmstats_histogram latency, sizes, striped_sizes, timed;
  uint64_t start;
  struct timespec two_ms = {0, 2000000};
  shmstats_label labels[2] = {{"method", "GET"}, {"code", "200"}};
  double bounds[3] = {100, 500, 1000};
  shmstats_snapshot* snap = NULL;
  const shmstats_metric_value* m;
  size_t n_reset = 0;
  int i;

  snprintf(name, sizeof name, "consumer-c-%s-%d", argc > 1 ? argv[1] : "x", (int)getpid());
  shmstats_segment_remove(name);
  CHECK(shmstats_abi_version() / 1000 == SHMSTATS_C_ABI_MAJOR);
  shmstats_segment_options_init(&so);
  so.max_metrics = 64;
  so.max_slots = 8192;
  if (shmstats_segment_create(name, &so, &seg) != SHMSTATS_OK) {
    fprintf(stderr, "consumer_c: create: %s\n", shmstats_last_error());
    return 1;
  }

  shmstats_metric_options_init(&mo);
  mo.name = "requests_total";
  mo.labels = labels;
  mo.n_labels = 2;
  mo.help = "Requests served";
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_OK);

  shmstats_metric_options_init(&mo);
  mo.name = "temperature_celsius";
  mo.unit = "celsius";
  CHECK(shmstats_register_gauge(seg, &mo, &temperature) == SHMSTATS_OK);

  shmstats_metric_options_init(&mo);
  mo.name = "latency_seconds";
  mo.unit = "seconds";
  mo.min = 0.001;
  mo.max = 10;
  mo.schema = 4;
  CHECK(shmstats_register_histogram(seg, &mo, &latency) == SHMSTATS_OK);

  shmstats_metric_options_init(&mo);
  mo.name = "size_bytes";
  mo.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
  mo.bounds = bounds;
  mo.n_bounds = 3;
  CHECK(shmstats_register_histogram(seg, &mo, &sizes) == SHMSTATS_OK);
  mo.name = "striped_size_bytes";
  mo.striping = SHMSTATS_STRIPING_PER_CPU;
  CHECK(shmstats_register_histogram(seg, &mo, &striped_sizes) == SHMSTATS_OK);

  shmstats_metric_options_init(&mo);
  mo.name = "striped_total";
  mo.striping = SHMSTATS_STRIPING_PER_CPU;
  CHECK(shmstats_register_counter(seg, &mo, &striped) == SHMSTATS_OK);

  shmstats_metric_options_init(&mo);
  mo.name = "timed_seconds";
  CHECK(shmstats_register_histogram(seg, &mo, &timed) == SHMSTATS_OK);
  CHECK(shmstats_timer_calibrate() == SHMSTATS_TIMER_TSC ||
        shmstats_timer_calibrate() == SHMSTATS_TIMER_STEADY_CLOCK);

  for (i = 0; i < 1000; ++i) shmstats_counter_inc(requests, 1);
  shmstats_counter_inc(requests, 42);
  shmstats_gauge_set(temperature, -12.25);
  shmstats_gauge_add(temperature, 2);
  shmstats_gauge_sub(temperature, 0.5);
  shmstats_histogram_observe(&latency, 0.25);
  shmstats_histogram_observe(&latency, 0.75);
  shmstats_histogram_observe(&sizes, 50);
  shmstats_histogram_observe(&sizes, 300);
  shmstats_histogram_observe(&sizes, 5000);
  shmstats_histogram_observe(&sizes, strtod("nan", NULL)); /* ignored */
  shmstats_ffi_counter_inc(&requests, 1);
  for (i = 0; i < 1000; ++i) shmstats_counter_inc(striped, 2);
  shmstats_histogram_observe(&striped_sizes, 50);
  shmstats_histogram_observe(&striped_sizes, 5000);
  start = shmstats_timer_now();
  nanosleep(&two_ms, NULL);
  shmstats_histogram_observe_elapsed(&timed, start);

  /* A process-scoped series (0.3): readers add it into the shared series. */
  shmstats_metric_options_init(&mo);
  mo.name = "own_jobs_total";
  mo.scope = SHMSTATS_SCOPE_PROCESS;
  CHECK(shmstats_register_counter(seg, &mo, &own) == SHMSTATS_OK);
  shmstats_counter_inc(own, 5);
  CHECK(shmstats_segment_retire_exited(seg, &retired) == SHMSTATS_OK && retired == 0);
  /* Its producer record (0.5): job name and process-metrics opt-out; a bad job is refused. */
  CHECK(shmstats_segment_set_job(seg, "c-consumer") == SHMSTATS_OK);
  CHECK(shmstats_segment_set_process_metrics(seg, 0) == SHMSTATS_OK);
  CHECK(shmstats_segment_set_job(seg, "bad\njob") == SHMSTATS_INVALID_ARGUMENT);

  CHECK(shmstats_snapshot_read(seg, &snap) == SHMSTATS_OK);
  CHECK(shmstats_snapshot_count(snap) == 8);
  m = find(snap, "own_jobs_total");
  CHECK(m && m->type == SHMSTATS_COUNTER && m->counter == 5);
  m = find(snap, "requests_total");
  CHECK(m && m->type == SHMSTATS_COUNTER && m->counter == 1043 && m->n_labels == 2 &&
        strcmp(m->labels[0].name, "code") == 0 && strcmp(m->help, "Requests served") == 0);
  m = find(snap, "temperature_celsius");
  CHECK(m && m->type == SHMSTATS_GAUGE && m->gauge == -10.75 && strcmp(m->unit, "celsius") == 0);
  m = find(snap, "latency_seconds");
  CHECK(m && m->type == SHMSTATS_HISTOGRAM && m->count == 2 && m->sum == 1.0 && m->schema == 4);
  m = find(snap, "size_bytes");
  CHECK(m && m->n_buckets == 4 && m->bucket_counts[0] == 1 && m->bucket_counts[1] == 1 &&
        m->bucket_counts[2] == 0 && m->bucket_counts[3] == 1 && m->sum == 5350);
  m = find(snap, "striped_size_bytes");
  CHECK(m && m->n_buckets == 4 && m->bucket_counts[0] == 1 && m->bucket_counts[3] == 1 &&
        m->count == 2 && m->sum == 5050);
  m = find(snap, "striped_total");
  CHECK(m && m->counter == 2000);
  m = find(snap, "timed_seconds");
  /* nanosleep sleeps at least 2 ms; the bound above only rules out a wrong scale. */
  CHECK(m && m->count == 1 && m->sum >= 0.002 && m->sum < 60);
  shmstats_snapshot_free(snap);

  CHECK(shmstats_reset(seg, "requests_total", &n_reset) == SHMSTATS_OK && n_reset == 1);
  CHECK(shmstats_snapshot_read(seg, &snap) == SHMSTATS_OK);
  m = find(snap, "requests_total");
  CHECK(m && m->counter == 0);
  shmstats_snapshot_free(snap);

  /* Errors: a status and a message; the handle stays usable (records go nowhere). */
  shmstats_metric_options_init(&mo);
  mo.name = "bad-name";
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_INVALID_ARGUMENT);
  CHECK(strstr(shmstats_last_error(), "bad-name") != NULL);
  shmstats_counter_inc(requests, 1);
  mo.name = "temperature_celsius";
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_TYPE_MISMATCH);
  mo.reserved[0] = 1;
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_INVALID_ARGUMENT);
  shmstats_metric_options_init(&mo);
  mo.name = "bad_striping_total";
  mo.striping = 7;
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_INVALID_ARGUMENT);
  CHECK(strstr(shmstats_last_error(), "striping") != NULL);
  shmstats_metric_options_init(&mo);
  mo.name = "bad_scope_total";
  mo.scope = 7;
  CHECK(shmstats_register_counter(seg, &mo, &requests) == SHMSTATS_INVALID_ARGUMENT);
  CHECK(strstr(shmstats_last_error(), "scope") != NULL);
  mo.scope = SHMSTATS_SCOPE_SHARED;
  mo.name = "striped_gauge";
  mo.striping = SHMSTATS_STRIPING_PER_CPU;
  CHECK(shmstats_register_gauge(seg, &mo, &temperature) == SHMSTATS_INVALID_ARGUMENT);
  CHECK(shmstats_segment_create(name, NULL, &other) == SHMSTATS_ALREADY_EXISTS && other == NULL);

  shmstats_segment_close(seg);
  CHECK(shmstats_segment_remove(name) == SHMSTATS_OK);
  CHECK(shmstats_segment_remove(name) == SHMSTATS_NOT_FOUND);
  CHECK(shmstats_segment_open(name, 1, &seg) == SHMSTATS_NOT_FOUND && seg == NULL);
  if (failures == 0) printf("consumer_c %s: ok\n", argc > 1 ? argv[1] : "");
  return failures == 0 ? 0 : 1;
}
