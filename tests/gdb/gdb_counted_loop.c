// A loop built with -O2 and -O0 for the gdb test of stepping through the progress
// counter's code (tests/integration/gdb_test.py, counter_steps): its
// branches jump through islands and stubs when recorded with
// --progress-counter, and gdb must see only the program's instructions.
#include <stdio.h>
__attribute__((noinline)) long work(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) {
    if (i % 3 == 0)
      s += i;
    else
      s ^= i;
  }
  return s;
}
int main(int argc, char** argv) {
  (void)argv;
  printf("work %ld\n", work(argc + 20));
  return 0;
}
