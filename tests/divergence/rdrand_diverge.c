/* rdrand_diverge: feeds an rdrand value (which no engine without CPUID
 * faulting can record) into a syscall argument, so that replay must detect
 * the difference and report a divergence. Not a tracee of the manifest:
 * tests/integration/divergence_test.py uses it. */
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  uint64_t r = 0;
  unsigned char ok = 0;
  for (int i = 0; i < 10 && !ok; i++) __asm__ volatile("rdrand %0; setc %1" : "=r"(r), "=qm"(ok));
  syscall(SYS_getppid, r, r ^ 1, r ^ 2);
  printf("done\n");
  return 0;
}
