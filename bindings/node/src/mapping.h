// SPDX-License-Identifier: Apache-2.0
/* A second mapping of the segment, inside a WebAssembly.Memory: the part of the
 * addon that lets WebAssembly code (64-bit atomics without BigInts) record on the
 * segment's slots. Linux only (/proc/self/maps). Set-up only: these make system calls.
 * Each returns 0 on success, or -1 with a message in err. */
#ifndef SHMSTATS_NODE_MAPPING_H_
#define SHMSTATS_NODE_MAPPING_H_

#include <stddef.h>
#include <stdint.h>

/* The file mapped at p (the library's mapping of the segment): its size, and p's
 * offset in it. */
int shmstats_node_locate(const void* p, uint64_t* file_size, uint64_t* offset, char* err,
                         size_t err_size);

/* Maps the file mapped at p (shared, read-write) over the first bytes of
 * [at, at + room): `at` is a WebAssembly.Memory's buffer, page-aligned and at least
 * the file's size long. */
int shmstats_node_map_over(void* at, size_t room, const void* p, char* err, size_t err_size);

/* Puts private zero pages back over [at, at + room). */
int shmstats_node_unmap_from(void* at, size_t room, char* err, size_t err_size);

#endif
