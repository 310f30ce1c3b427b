// sigtimedwait: a timeout first, then a signal a child sends.
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  sigprocmask(SIG_BLOCK, &s, NULL);
  struct timespec short_wait = {0, 5 * 1000 * 1000};
  int r = sigtimedwait(&s, NULL, &short_wait);
  printf("first wait timed out: %d\n", r < 0 && errno == EAGAIN);
  pid_t p = fork();
  if (p == 0) {
    union sigval v = {.sival_int = 77};
    sigqueue(getppid(), SIGUSR2, v);
    _exit(0);
  }
  struct timespec long_wait = {5, 0};
  siginfo_t si;
  r = sigtimedwait(&s, &si, &long_wait);
  printf("second wait got SIGUSR2 with 77: %d\n", r == SIGUSR2 && si.si_value.sival_int == 77);
  waitpid(p, NULL, 0);
  return 0;
}
