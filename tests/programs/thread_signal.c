// Signals to threads: pthread_kill to a thread with a handler, and a thread
// that takes a process-directed signal with sigwait while the others block it.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t handled_by_worker;
static pthread_t worker;

static void on_usr1(int sig) {
  (void)sig;
  if (pthread_equal(pthread_self(), worker)) handled_by_worker = 1;
}

static void* work(void* arg) {
  (void)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  while (!handled_by_worker) pause();
  return NULL;
}

static void* waiter(void* arg) {
  (void)arg;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  int sig = 0;
  sigwait(&s, &sig);
  return (void*)(long)sig;
}

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &s, NULL);
  signal(SIGUSR1, on_usr1);
  pthread_t w2;
  pthread_create(&worker, NULL, work, NULL);
  pthread_create(&w2, NULL, waiter, NULL);
  usleep(20000);
  pthread_kill(worker, SIGUSR1);
  pthread_join(worker, NULL);
  printf("worker handled SIGUSR1: %d\n", (int)handled_by_worker);
  kill(getpid(), SIGUSR2);
  void* r;
  pthread_join(w2, &r);
  printf("waiter got signal %ld\n", (long)r);
  return 0;
}
