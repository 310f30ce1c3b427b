// fork, a pipe from child to parent, exit status through waitpid.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t p = fork();
  if (p == 0) {
    close(fds[0]);
    const char msg[] = "hello from child\n";
    if (write(fds[1], msg, sizeof msg - 1) < 0) _exit(2);
    printf("child: pid differs from parent's: %d\n", getpid() != getppid());
    exit(7);
  }
  close(fds[1]);
  char buf[64];
  ssize_t n = read(fds[0], buf, sizeof buf);
  printf("parent read %zd: %.*s", n, (int)n, buf);
  int st;
  if (waitpid(p, &st, 0) != p) return 1;
  printf("child exit %d\n", WEXITSTATUS(st));
  return 0;
}
