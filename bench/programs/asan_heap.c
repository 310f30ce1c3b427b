/* asan_heap: the ASan restore benchmark's tracee, built with
 * -fsanitize=address. ASan reserves terabytes of shadow (MAP_NORESERVE)
 * and touches the part that covers what the program uses. It allocates
 * MiB blocks of 1 MiB of pseudo-random bytes each (their shadow is
 * populated too), then makes many cheap syscalls.
 * Usage: asan_heap [MiB] [syscalls] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 64;
  long calls = argc > 2 ? strtol(argv[2], 0, 10) : 20000;
  uint64_t** blocks = malloc(mib * sizeof *blocks);
  uint64_t x = 88172645463325252ull;
  for (size_t b = 0; b < mib; b++) {
    blocks[b] = malloc(1 << 20);
    for (size_t k = 0; k < (1 << 20) / 8; k++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      blocks[b][k] = x;
    }
  }
  long sum = 0;
  for (long i = 0; i < calls; i++) sum += syscall(SYS_getppid) > 0;
  uint64_t check = 0;
  for (size_t b = 0; b < mib; b++) check ^= blocks[b][b % 1000];
  printf("%ld calls, check %016llx\n", sum, (unsigned long long)check);
  return 0;
}
