// kill between processes: SIGTERM to a child in pause(), SIGKILL to one in a
// blocking read, SIGUSR1 to one with a handler.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }

int main(void) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t a = fork();
  if (a == 0) {
    if (write(ready[1], "a", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  pid_t b = fork();
  if (b == 0) {
    int never[2];
    if (pipe(never) != 0) _exit(1);
    if (write(ready[1], "b", 1) != 1) _exit(1);
    char c;
    if (read(never[0], &c, 1) < 0) _exit(1);
    _exit(0);
  }
  pid_t c = fork();
  if (c == 0) {
    signal(SIGUSR1, on_usr1);
    if (write(ready[1], "c", 1) != 1) _exit(1);
    while (!got) pause();
    _exit(got == SIGUSR1 ? 42 : 1);
  }
  char buf[3];
  for (int n = 0; n < 3;) {
    ssize_t r = read(ready[0], buf + n, 3 - n);
    if (r <= 0) return 1;
    n += r;
  }
  kill(a, SIGTERM);
  kill(b, SIGKILL);
  kill(c, SIGUSR1);
  int st;
  waitpid(a, &st, 0);
  printf("a: signaled %d by %d\n", WIFSIGNALED(st), WTERMSIG(st));
  waitpid(b, &st, 0);
  printf("b: signaled %d by %d\n", WIFSIGNALED(st), WTERMSIG(st));
  waitpid(c, &st, 0);
  printf("c: exited %d with %d\n", WIFEXITED(st), WEXITSTATUS(st));
  return 0;
}
