// execs itself with a counter until it reaches zero.
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4;
  printf("exec_chain %d\n", n);
  fflush(stdout);
  if (n == 0) return 0;
  char next[16];
  snprintf(next, sizeof next, "%d", n - 1);
  char* args[] = {argv[0], next, NULL};
  execv("/proc/self/exe", args);
  perror("execv");
  return 1;
}
