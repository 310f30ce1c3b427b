// A tracee with a large heap for bench/gdb_checkpoints.py: MiB megabytes
// (argv[1]) filled half with pseudo-random bytes and half with a pattern,
// then 100 rounds of a function call and a syscall.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile long last;

__attribute__((noinline)) void round_done(long i) { last = i; }

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256;
  size_t n = mib << 17;  // 8-byte words
  uint64_t* heap = malloc(n * sizeof(uint64_t));
  uint64_t x = 88172645463325252ull;
  for (size_t k = 0; k < n; ++k) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    heap[k] = k < n / 2 ? x : k;
  }
  for (long i = 0; i < 100; ++i) {
    heap[i] += i;
    round_done(i);
    getppid();
  }
  printf("%llu\n", (unsigned long long)heap[n - 1]);
  return 0;
}
