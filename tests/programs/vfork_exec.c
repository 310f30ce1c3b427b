// vfork + exec of itself, and vfork + _exit.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) {
    printf("vfork child ran exec\n");
    return 9;
  }
  fflush(stdout);
  pid_t p = vfork();
  if (p == 0) {
    char* args[] = {argv[0], "child", NULL};
    execv("/proc/self/exe", args);
    _exit(127);
  }
  int st;
  waitpid(p, &st, 0);
  printf("exec'd child exited %d\n", WEXITSTATUS(st));
  p = vfork();
  if (p == 0) _exit(4);
  waitpid(p, &st, 0);
  printf("plain child exited %d\n", WEXITSTATUS(st));
  return 0;
}
