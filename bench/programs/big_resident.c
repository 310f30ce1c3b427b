/* big_resident: the checkpoint benchmark's tracee. About 1 GiB resident: a
 * third written with zeros, a third one repeated 4 KiB pattern, a third
 * pseudo-random bytes; then many cheap syscalls, so that the trace has a
 * late event far from the start. Usage: big_resident [MiB] [syscalls] */
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
  memset(p, 0, third);
  uint8_t pattern[4096];
  for (int i = 0; i < 4096; i++) pattern[i] = (uint8_t)(i * 7 + 3);
  for (size_t off = third; off < 2 * third; off += 4096) memcpy(p + off, pattern, 4096);
  uint64_t x = 88172645463325252ull;
  for (size_t off = 2 * third; off + 8 <= total; off += 8) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    memcpy(p + off, &x, 8);
  }
  long sum = 0;
  for (long i = 0; i < calls; i++) sum += syscall(SYS_getppid) > 0;
  printf("resident %zu MiB, %ld syscalls ok\n", mib, sum);
  return 0;
}
