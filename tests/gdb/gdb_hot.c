// A breakpoint hit thousands of times inside one stretch of user code (no
// syscall in the loop): the point after them must stay cheap to name.
#include <stdio.h>

volatile long acc;

__attribute__((noinline)) void tick(long i) { acc += i; }

int main(void) {
  for (long i = 0; i < 3000; ++i) tick(i);
  printf("%ld\n", acc);
  return 0;
}
