// A tight single-threaded loop with data-dependent branches and no syscall
// (a pseudo-random walk over a table): the progress counter's worst case,
// where nearly every few instructions take a counted branch.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  long turns = argc > 1 ? atol(argv[1]) : 100000000;
  static uint32_t table[4096];
  uint64_t x = 88172645463325252ull, sum = 0;
  for (long i = 0; i < turns; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint32_t v = table[x & 4095];
    if (x & 0x100)
      sum += v;
    else if (x & 0x200)
      sum ^= x;
    else
      sum -= x >> 3;
    table[(x >> 12) & 4095] = (uint32_t)sum;
  }
  printf("%llu\n", (unsigned long long)sum);
  return 0;
}
