// A loop with no syscall that only a SIGALRM handler ends: the recorder
// must deliver the signal between syscalls, at a point replay reaches again
// (the progress counter's trap; rr record --progress-counter). How far the
// loop got depends on timing; a recording and its replay print the same.
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>

static volatile sig_atomic_t stop;

static void on_alarm(int sig) { stop = sig; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  if (sigaction(SIGALRM, &sa, NULL) != 0) return 1;
  struct itimerval it = {{0, 0}, {0, 20000}};
  if (setitimer(ITIMER_REAL, &it, NULL) != 0) return 1;
  unsigned long turns = 0;
  while (!stop) ++turns;
  printf("stopped by signal %d after %lu turns\n", (int)stop, turns);
  return turns > 0 ? 0 : 2;
}
