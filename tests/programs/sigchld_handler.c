// A SIGCHLD handler reaps children as they end; the parent waits in sigsuspend.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped, status_sum;

static void on_chld(int sig) {
  (void)sig;
  int saved = errno, st;
  pid_t p;
  while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
    reaped++;
    status_sum += WEXITSTATUS(st);
  }
  errno = saved;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  for (int i = 1; i <= 5; ++i)
    if (fork() == 0) _exit(i);
  while (reaped < 5) sigsuspend(&old);
  printf("reaped %d children, statuses sum to %d\n", (int)reaped, (int)status_sum);
  return 0;
}
