// A thread sleeps in nanosleep and read while another sends it signals with
// SA_RESTART handlers: the calls restart and finish.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits;
static void on_usr1(int sig) { (void)sig; hits++; }
static int fds[2];

static void* sleeper(void* arg) {
  (void)arg;
  char c;
  ssize_t r = read(fds[0], &c, 1);
  return (void*)(long)(r == 1 && c == 'z');
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  if (pipe(fds) != 0) return 1;
  pthread_t t;
  pthread_create(&t, NULL, sleeper, NULL);
  for (int i = 0; i < 3; ++i) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
    pthread_kill(t, SIGUSR1);
  }
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
  if (write(fds[1], "z", 1) != 1) return 1;
  void* ok;
  pthread_join(t, &ok);
  printf("read finished after signals: %ld, handler ran: %d\n", (long)ok, hits > 0);
  return 0;
}
