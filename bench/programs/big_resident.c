/* big_resident: the checkpoint benchmark's tracee. About 1 GiB resident: a
 * third written with zeros, a third one repeated 4 KiB pattern, a third
 * pseudo-random bytes; then many cheap syscalls, so that the trace has a
 * late event far from the start. With CHURN, every CHURN syscalls 1% of
 * the pages change (for incremental checkpoints). With "random" all of it
 * is pseudo-random bytes, each page distinct (the contents of a real
 * program's heap: no zero page to skip, no repeated one).
 * Usage: big_resident [MiB] [syscalls] [CHURN] [random] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], 0, 10) : 1024;
  long calls = argc > 2 ? strtol(argv[2], 0, 10) : 200000;
  size_t total = mib << 20, third = (total / 3) & ~(size_t)4095;
  uint8_t* p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  size_t random_from = argc > 4 && strcmp(argv[4], "random") == 0 ? 0 : 2 * third;
  if (random_from) {
    memset(p, 0, third);
    uint8_t pattern[4096];
    for (int i = 0; i < 4096; i++) pattern[i] = (uint8_t)(i * 7 + 3);
    for (size_t off = third; off < 2 * third; off += 4096) memcpy(p + off, pattern, 4096);
  }
  uint64_t x = 88172645463325252ull;
  for (size_t off = random_from; off + 8 <= total; off += 8) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    memcpy(p + off, &x, 8);
  }
  long churn = argc > 3 ? strtol(argv[3], 0, 10) : 0;
  size_t pages = total / 4096;
  long sum = 0;
  for (long i = 0; i < calls; i++) {
    sum += syscall(SYS_getppid) > 0;
    if (churn > 0 && i % churn == churn - 1)
      for (size_t k = 0; k < pages / 100; k++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        p[(x % pages) * 4096 + (k % 4096)] ^= (uint8_t)(x >> 32) | 1;
      }
  }
  printf("resident %zu MiB, %ld syscalls ok\n", mib, sum);
  return 0;
}
