/* echo_diverge: writes an rdrand value to stdout as 16 hex digits. The
 * rdrand runs from code made at run time (an anonymous executable page,
 * which the recorder does not patch: rdrand in files' code traps and is
 * recorded), so no engine without CPUID faulting records it. The write's
 * buffer and length are the same in replay, only the bytes differ, though
 * what the formatting left in scratch registers may differ too: replay -a
 * must report a divergence (of the bytes, or of the registers at the
 * write's entry), never print another number. Not a tracee of the
 * manifest: tests/integration/echo_test.py uses it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  /* rdrand rax; jnc .-5 (retry until it succeeds); ret */
  static const uint8_t code[] = {0x48, 0x0f, 0xc7, 0xf0, 0x73, 0xfa, 0xc3};
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  memcpy(page, code, sizeof(code));
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) return 1;
  uint64_t r = ((uint64_t (*)(void))page)();
  char buf[32];
  snprintf(buf, sizeof buf, "%016llx\n", (unsigned long long)r);
  if (write(1, buf, 17) != 17) return 1;
  return 0;
}
