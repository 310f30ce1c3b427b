// A child forks a grandchild and exits; the orphaned grandchild is adopted
// and still writes to the pipe the original parent reads.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    if (fork() == 0) {
      close(fds[0]);
      struct timespec ts = {0, 30 * 1000 * 1000};
      nanosleep(&ts, NULL);
      const char msg[] = "grandchild, parent gone: yes\n";
      if (write(fds[1], msg, sizeof msg - 1) < 0) _exit(1);
      _exit(0);
    }
    _exit(0);
  }
  close(fds[1]);
  int st;
  waitpid(child, &st, 0);
  printf("child exited %d\n", WEXITSTATUS(st));
  char buf[64];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) printf("%.*s", (int)n, buf);
  printf("pipe closed\n");
  return 0;
}
