// SPDX-License-Identifier: Apache-2.0
#define _GNU_SOURCE
#include "mapping.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The line of /proc/self/maps whose range holds p: path (no "(deleted)" file), inode
 * and the file offset of p. */
static int Find(const void* p, char* path, size_t path_size, uint64_t* inode, uint64_t* offset,
                char* err, size_t err_size) {
  FILE* maps = fopen("/proc/self/maps", "re");
  char line[4096];
  uintptr_t at = (uintptr_t)p;
  if (maps == NULL) {
    snprintf(err, err_size, "/proc/self/maps: %s", strerror(errno));
    return -1;
  }
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start, end, off, ino;
    int used = 0;
    char* name;
    size_t n;
    if (sscanf(line, "%lx-%lx %*s %lx %*s %lu %n", &start, &end, &off, &ino, &used) < 4 ||
        at < start || at >= end)
      continue;
    fclose(maps);
    name = line + used;
    n = strcspn(name, "\n");
    name[n] = '\0';
    if (name[0] != '/' || ino == 0 || strstr(name, " (deleted)") != NULL || n >= path_size) {
      snprintf(err, err_size, "the segment's mapping is not a file that can be opened: \"%s\"",
               name);
      return -1;
    }
    memcpy(path, name, n + 1);
    *inode = ino;
    *offset = off + (at - start);
    return 0;
  }
  fclose(maps);
  snprintf(err, err_size, "no mapping holds the segment's slots");
  return -1;
}

/* Opens the file of p's mapping, checking that it is the same file (inode). */
static int Open(const void* p, uint64_t* size, uint64_t* offset, char* err, size_t err_size) {
  char path[1024];
  uint64_t inode;
  struct stat st;
  int fd;
  if (Find(p, path, sizeof path, &inode, offset, err, err_size) != 0) return -1;
  fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    snprintf(err, err_size, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0 || (uint64_t)st.st_ino != inode) {
    snprintf(err, err_size, "%s: no longer the file this process mapped", path);
    close(fd);
    return -1;
  }
  *size = (uint64_t)st.st_size;
  return fd;
}

int shmstats_node_locate(const void* p, uint64_t* file_size, uint64_t* offset, char* err,
                         size_t err_size) {
  int fd = Open(p, file_size, offset, err, err_size);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

int shmstats_node_map_over(void* at, size_t room, const void* p, char* err, size_t err_size) {
  uint64_t size, offset;
  long page = sysconf(_SC_PAGESIZE);
  size_t length;
  void* got;
  int fd = Open(p, &size, &offset, err, err_size);
  if (fd < 0) return -1;
  length = (size_t)((size + (uint64_t)page - 1) / (uint64_t)page * (uint64_t)page);
  if ((uintptr_t)at % (uintptr_t)page != 0 || length > room) {
    snprintf(err, err_size, "the WebAssembly memory (%zu bytes) cannot hold the segment (%zu)",
             room, length);
    close(fd);
    return -1;
  }
  got = mmap(at, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
  close(fd);
  if (got == MAP_FAILED) {
    snprintf(err, err_size, "mapping the segment: %s", strerror(errno));
    return -1;
  }
  return 0;
}

int shmstats_node_unmap_from(void* at, size_t room, char* err, size_t err_size) {
  if (mmap(at, room, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
      MAP_FAILED) {
    snprintf(err, err_size, "unmapping the segment: %s", strerror(errno));
    return -1;
  }
  return 0;
}
