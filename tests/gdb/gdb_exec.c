// A program that execs itself twice (argv[1] counts down), for gdb's exec
// events: catch exec, and a breakpoint in the last image. Built with -O0 -g
// by tests/integration/gdb_test.py.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int last_image(int n) { return n; }

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 2;
  printf("image %d\n", n);
  fflush(stdout);
  if (n == 0) return last_image(n);
  char next[16];
  snprintf(next, sizeof next, "%d", n - 1);
  char* args[] = {argv[0], next, NULL};
  execv("/proc/self/exe", args);
  return 1;
}
