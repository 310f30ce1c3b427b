/* echo_diverge: writes an rdrand value (which no engine without CPUID
 * faulting can record) to stdout as 16 hex digits. The write's buffer and
 * length are the same in replay, only the bytes differ, though what the
 * formatting left in scratch registers may differ too: replay -a must
 * report a divergence (of the bytes, or of the registers at the write's
 * entry), never print another number. Not a tracee of the manifest:
 * tests/integration/echo_test.py uses it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  uint64_t r = 0;
  unsigned char ok = 0;
  for (int i = 0; i < 10 && !ok; i++) __asm__ volatile("rdrand %0; setc %1" : "=r"(r), "=qm"(ok));
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx\n", (unsigned long long)r);
  if (write(1, buf, 17) != 17) return 1;
  return 0;
}
