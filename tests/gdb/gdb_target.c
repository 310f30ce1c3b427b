// A small program for the gdb tests: a loop that calls a function changing
// a global, so breakpoints, watchpoints and reverse execution have
// something to find. Built with -O0 -g by tests/integration/gdb_test.py.
#include <stdio.h>
#include <unistd.h>
int counter = 0;
int history[16];
__attribute__((noinline)) int bump(int by) {
  counter += by;
  return counter;
}
int main(void) {
  for (int i = 0; i < 10; ++i) {
    int v = bump(i);
    history[i] = v;
    printf("step %d counter %d\n", i, v);
  }
  getpid();
  return counter == 45 ? 0 : 1;
}
