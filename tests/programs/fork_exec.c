// fork, then exec a real program in the child; the parent waits.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    char* args[] = {"echo", "echo ran in the child", NULL};
    execv("/bin/echo", args);
    _exit(127);
  }
  int st;
  waitpid(p, &st, 0);
  printf("echo exited %d\n", WEXITSTATUS(st));
  p = fork();
  if (p == 0) {
    char* args[] = {"sh", "-c", "exit 5", NULL};
    execv("/bin/sh", args);
    _exit(127);
  }
  waitpid(p, &st, 0);
  printf("sh exited %d\n", WEXITSTATUS(st));
  return 0;
}
