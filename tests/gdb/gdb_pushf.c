// pushf under gdb's stepi (tests/integration/gdb_test.py, stepping): the
// step's trap flag must not reach what the program pushed, which in the
// recording held it clear.
#include <stdio.h>

int main(void) {
  unsigned long flags;
  __asm__ volatile("pushfq\n\t"
                   "popq %0"
                   : "=r"(flags));
  printf("trap flag %lu\n", (flags >> 8) & 1);
  return 0;
}
