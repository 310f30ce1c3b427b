// Loops that only read memory, built at -O0 where `while (!flag);` is a
// load, a test and a 2-byte `je` back with no padding in reach for the
// progress counter's islands: the recorder makes such a branch itself (a
// poll site, docs/progress-counter.md), a taken one is an event, and the
// thread yields there or parks until another thread has run. The main
// thread waits for a worker that sets a flag after a sched_yield with every
// signal blocked (rr's no_mask_timeslice); two threads hand a token back and
// forth 200 times, each waiting for its turn in a read-only loop; then
// SIGALRM's handler ends a wait of the main thread alone.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int flag;
static volatile int turn;
static volatile sig_atomic_t alarmed;
static pthread_barrier_t bar;
enum { kRounds = 200 };

static void* setter(void* arg) {
  (void)arg;
  pthread_barrier_wait(&bar);
  sched_yield();
  flag = 1;
  return NULL;
}

static void* player(void* arg) {
  int me = (int)(long)arg;
  for (int i = 0; i < kRounds; ++i) {
    while (turn != me) {
    }
    turn = 1 - me;
  }
  return NULL;
}

static void on_alarm(int sig) {
  (void)sig;
  alarmed = 1;
}

int main(void) {
  pthread_t t;
  sigset_t all, old;
  pthread_barrier_init(&bar, NULL, 2);
  if (pthread_create(&t, NULL, setter, NULL) != 0) return 1;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  pthread_barrier_wait(&bar);
  while (!flag) {
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_join(t, NULL);
  printf("the flag was set while the main thread waited\n");

  pthread_t a, b;
  if (pthread_create(&a, NULL, player, (void*)0L) != 0 || pthread_create(&b, NULL, player, (void*)1L) != 0) return 1;
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  printf("the token went back and forth %d times, turn %d\n", 2 * kRounds, turn);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (!alarmed) {
  }
  printf("SIGALRM ended the wait\n");
  return 0;
}
