/* rdrand_diverge: feeds an rdrand value into a syscall argument, from code
 * made at run time (an anonymous executable page, which the recorder does
 * not patch: rdrand in files' code traps and is recorded), so that replay
 * must detect the difference and report a divergence. Not a tracee of the
 * manifest: tests/integration/divergence_test.py uses it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  /* rdrand rax; jnc .-5 (retry until it succeeds); ret */
  static const uint8_t code[] = {0x48, 0x0f, 0xc7, 0xf0, 0x73, 0xfa, 0xc3};
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return 1;
  memcpy(page, code, sizeof(code));
  if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) return 1;
  uint64_t (*random64)(void) = (uint64_t (*)(void))page;
  uint64_t r = random64();
  syscall(SYS_getppid, r, r ^ 1, r ^ 2);
  printf("done\n");
  return 0;
}
