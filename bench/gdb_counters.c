// bench/gdb_counters.py: one long stretch of user code (no syscall inside
// the loop) with a single write near its end, for a reverse watchpoint.
#include <stdio.h>
#include <stdlib.h>

volatile long flag;
volatile long acc;

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  for (long i = 0; i < n; ++i) {
    acc += i * 3;
    if (i == n - 10) flag = i;
  }
  printf("%ld %ld\n", acc, flag);
  return 0;
}
