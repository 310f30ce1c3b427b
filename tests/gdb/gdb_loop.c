// One long stretch of user code (no syscall in the loop) with a single
// write deep inside it: going back to that write must not single-step the
// whole loop. The test compares the road with execution counters to the
// road without.
#include <stdio.h>

volatile long flag;
volatile long acc;

int main(void) {
  for (long i = 0; i < 3000; ++i) {
    acc += i * 3;
    if (i == 2990) flag = i;
  }
  printf("%ld %ld\n", acc, flag);
  return 0;
}
