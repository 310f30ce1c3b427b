// setitimer(ITIMER_REAL) every 5 ms; the program waits for ticks in pause().
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static void on_alarm(int sig) { (void)sig; ticks++; }

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (ticks < 5) pause();
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  printf("ticks >= 5: %d\n", ticks >= 5);
  alarm(1);
  unsigned left = alarm(0);
  printf("alarm left about a second: %d\n", left == 1);
  return 0;
}
