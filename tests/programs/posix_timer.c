// timer_create with SIGEV_SIGNAL, waited for with sigwaitinfo; overruns read.
#include <signal.h>
#include <stdio.h>
#include <time.h>

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &s, NULL);
  struct sigevent ev = {0};
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGRTMIN;
  ev.sigev_value.sival_int = 1234;
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer) != 0) return 1;
  struct itimerspec its = {{0, 2000000}, {0, 2000000}};
  timer_settime(timer, 0, &its, NULL);
  int got = 0;
  for (int i = 0; i < 4; ++i) {
    siginfo_t si;
    if (sigwaitinfo(&s, &si) == SIGRTMIN && si.si_value.sival_int == 1234) got++;
  }
  timer_delete(timer);
  printf("timer signals with the right value: %d\n", got);
  return 0;
}
