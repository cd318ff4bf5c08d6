// SPDX-License-Identifier: Apache-2.0
/* A test-only addon: what the Node.js package's tests compare it with and check it
 * by, from the C library itself.
 *   bucketIndices(segment, name, bounds | null, min, max, schema, zeroThreshold, values)
 *     registers (find-or-create) that histogram through the C ABI and returns
 *     shmstats_histogram_bucket_index of each value (a Uint32Array);
 *   enterExitOnlyFilter() installs, on the calling thread only, a seccomp filter that
 *     allows exit_group only: any other system call ends the process with
 *     exit_group(its number), 255 for read (number 0);
 *   exitGroup(status) ends the process with the raw exit_group system call. */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <node_api.h>
#include <shmstats/shmstats_c.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define PROBE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define PROBE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "the exit-only seccomp filter knows x86-64 and arm64 only"
#endif

static napi_value Throw(napi_env env, const char* message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value BucketIndices(napi_env env, napi_callback_info info) {
  size_t argc = 8, n_values, n_bounds = 0, i;
  napi_value argv[8], out_buffer, out;
  char segment_name[256], name[256];
  double *values, *bounds = NULL;
  uint32_t* indices;
  int32_t schema;
  napi_valuetype bt;
  napi_typedarray_type at;
  shmstats_segment* seg;
  shmstats_metric_options opts;
  shmstats_histogram h;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8)
    return Throw(env, "bucketIndices takes 8 arguments");
  napi_get_value_string_utf8(env, argv[0], segment_name, sizeof segment_name, NULL);
  napi_get_value_string_utf8(env, argv[1], name, sizeof name, NULL);
  shmstats_metric_options_init(&opts);
  opts.name = name;
  napi_typeof(env, argv[2], &bt);
  if (bt == napi_null) {
    opts.bucket_kind = SHMSTATS_BUCKETS_EXPONENTIAL;
  } else {
    napi_get_typedarray_info(env, argv[2], &at, &n_bounds, (void**)&bounds, NULL, NULL);
    opts.bucket_kind = SHMSTATS_BUCKETS_EXPLICIT;
    opts.bounds = bounds;
    opts.n_bounds = n_bounds;
  }
  napi_get_value_double(env, argv[3], &opts.min);
  napi_get_value_double(env, argv[4], &opts.max);
  napi_get_value_int32(env, argv[5], &schema);
  opts.schema = schema;
  napi_get_value_double(env, argv[6], &opts.zero_threshold);
  if (napi_get_typedarray_info(env, argv[7], &at, &n_values, (void**)&values, NULL, NULL) !=
          napi_ok ||
      at != napi_float64_array)
    return Throw(env, "values must be a Float64Array");
  if (shmstats_segment_open_or_create(segment_name, NULL, &seg) != SHMSTATS_OK)
    return Throw(env, shmstats_last_error());
  if (shmstats_register_histogram(seg, &opts, &h) != SHMSTATS_OK) {
    napi_value e = Throw(env, shmstats_last_error());
    shmstats_segment_close(seg);
    return e;
  }
  napi_create_arraybuffer(env, n_values * sizeof(uint32_t), (void**)&indices, &out_buffer);
  for (i = 0; i < n_values; ++i)
    indices[i] = (uint32_t)shmstats_histogram_bucket_index(&h, values[i]);
  shmstats_segment_close(seg);
  napi_create_typedarray(env, napi_uint32_array, n_values, out_buffer, 0, &out);
  return out;
}

/* SIGSYS from the filter: says which system call it was, through the exit status. */
static void OnSigsys(int sig, siginfo_t* info, void* context) {
  (void)sig;
  (void)context;
  syscall(SYS_exit_group, info->si_syscall == 0 ? 255 : info->si_syscall);
}

static napi_value EnterExitOnlyFilter(napi_env env, napi_callback_info info) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROBE_AUDIT_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
  };
  struct sigaction action;
  struct sock_fprog prog = {(unsigned short)(sizeof filter / sizeof filter[0]), filter};
  (void)info;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnSigsys;
  action.sa_flags = SA_SIGINFO;
  if (sigaction(SIGSYS, &action, NULL) != 0) return Throw(env, "sigaction(SIGSYS) failed");
  /* Without SECCOMP_FILTER_FLAG_TSYNC the filter binds this thread (and threads it
   * creates) only: V8's and libuv's own threads go on as before. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
    return Throw(env, "seccomp refused");
  return NULL;
}

static napi_value ExitGroup(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t status = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) napi_get_value_int32(env, argv[0], &status);
  syscall(SYS_exit_group, status);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"bucketIndices", NULL, BucketIndices, NULL, NULL, NULL, napi_enumerable, NULL},
      {"enterExitOnlyFilter", NULL, EnterExitOnlyFilter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"exitGroup", NULL, ExitGroup, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
