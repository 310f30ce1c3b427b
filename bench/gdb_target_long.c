// A long trace for bench/gdb.py: 200,000 syscalls, and a function the
// benchmark breaks on every 1,000 of them.
#include <stdio.h>
#include <unistd.h>

volatile long progress;

__attribute__((noinline)) void milestone(long i) { progress = i; }

int main(void) {
  for (long i = 0; i < 200000; ++i) {
    if (i % 1000 == 0) milestone(i);
    getppid();
  }
  printf("done %ld\n", progress);
  return 0;
}
