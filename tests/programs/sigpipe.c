// SIGPIPE: ignored (write fails with EPIPE), then default in a child (killed).
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  close(fds[0]);
  signal(SIGPIPE, SIG_IGN);
  ssize_t r = write(fds[1], "x", 1);
  printf("ignored: write %zd, EPIPE %d\n", r, errno == EPIPE);
  signal(SIGPIPE, SIG_DFL);
  pid_t p = fork();
  if (p == 0) {
    if (write(fds[1], "x", 1) < 0) _exit(1);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  printf("child killed by SIGPIPE: %d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
  return 0;
}
