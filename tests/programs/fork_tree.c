// A tree of processes three levels deep; each node returns the size of its
// subtree as its exit status, summed by its parent.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int node(int depth) {
  if (depth == 0) return 1;
  pid_t kids[3];
  for (int i = 0; i < 3; ++i) {
    kids[i] = fork();
    if (kids[i] == 0) _exit(node(depth - 1));
  }
  int total = 1;
  for (int i = 0; i < 3; ++i) {
    int st;
    if (waitpid(kids[i], &st, 0) != kids[i]) return 0;
    total += WEXITSTATUS(st);
  }
  return total;
}

int main(void) {
  printf("tree size %d\n", node(3));
  return 0;
}
