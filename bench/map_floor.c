// SPDX-License-Identifier: Apache-2.0
/* map_floor: the floor under a statsctl command that maps a segment. It does what
 * any reader of /dev/shm/NAME must do and nothing else: exec, open the file, map it
 * shared, read its first word, exit. bench/startup.sh times it beside statsctl.
 * usage: map_floor NAME (exit 1 when the segment cannot be mapped) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  char path[256];
  if (argc != 2 || snprintf(path, sizeof path, "/dev/shm/%s", argv[1]) >= (int)sizeof path) return 2;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 8) return 1;
  void* p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return 1;
  volatile uint64_t first = *(const volatile uint64_t*)p;
  (void)first;
  munmap(p, (size_t)st.st_size);
  close(fd);
  return 0;
}
