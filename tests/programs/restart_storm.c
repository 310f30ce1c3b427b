// Interrupted syscalls of every restart kind while other threads block. A
// forker thread (SIGCHLD blocked, so the kernel picks a sleeping thread for
// each child's SIGCHLD) forks children that exit, sleeps and reaps them,
// while the main thread waits in pthread_join and sleepers wait in
// nanosleep and timed futex waits (ERESTART_RESTARTBLOCK), blocking read
// and waitpid (ERESTARTSYS), poll (ERESTART_RESTARTBLOCK too) and select
// without a timeout (ERESTARTNOHAND).
// SIGCHLD is first ignored by default (a traced thread is still interrupted
// and restarts, through restart_syscall for the first kind), then caught
// with SA_RESTART, then without; tgkill and a thread-directed timer add
// signals with and without SA_RESTART (a fork with a signal pending for
// its thread restarts with ERESTARTNOINTR).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kRoundsPerPhase = 40, kSleepers = 6 };

static atomic_int done;
static atomic_int futex_word;
static int read_pipe[2], poll_pipe[2], waited_pipe[2];
static pid_t waited_child;
static pid_t sleeper_tids[kSleepers];
static atomic_int started;

static void on_signal(int sig) { (void)sig; }

static void set_action(int sig, void (*handler)(int), int flags) {
  struct sigaction sa = {0};
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static void* nanosleeper(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  while (!atomic_load(&done)) {
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static void* futex_waiter(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  while (!atomic_load(&done)) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  }
  return NULL;
}

static void* reader(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  char c;
  while (read(read_pipe[0], &c, 1) != 1) {
  }
  return (void*)(long)(c == 'r');
}

static void* poller(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  struct pollfd p = {poll_pipe[0], POLLIN, 0};
  while (poll(&p, 1, -1) != 1) {
  }
  return (void*)(long)((p.revents & POLLIN) != 0);
}

static void* selecter(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  fd_set in;
  do {
    FD_ZERO(&in);
    FD_SET(poll_pipe[0], &in);
  } while (select(poll_pipe[0] + 1, &in, NULL, NULL, NULL) != 1);
  return (void*)(long)(FD_ISSET(poll_pipe[0], &in) != 0);
}

static void* child_waiter(void* arg) {
  sleeper_tids[(long)arg] = (pid_t)syscall(SYS_gettid);
  atomic_fetch_add(&started, 1);
  int st = 0;
  while (waitpid(waited_child, &st, 0) != waited_child) {
  }
  return (void*)(long)(WIFEXITED(st) && WEXITSTATUS(st) == 42);
}

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void* forker(void* arg) {
  (void)arg;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, NULL);
  // A timer aimed at this thread: its signal is often pending at a fork's
  // entry, which makes the fork restart (ERESTARTNOINTR).
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGALRM;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
  timer_t timer;
  if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) return (void*)0L;
  long reaped = 0;
  for (int phase = 0; phase < 3; ++phase) {
    if (phase == 0) set_action(SIGCHLD, SIG_DFL, 0);
    if (phase == 1) set_action(SIGCHLD, on_signal, SA_RESTART);
    if (phase == 2) set_action(SIGCHLD, on_signal, 0);
    for (int i = 0; i < kRoundsPerPhase; ++i) {
      // One shot per round: a periodic timer faster than a traced loop
      // iteration would keep interrupting the sleep below without end.
      struct itimerspec its = {{0, 0}, {0, (i % 8 + 1) * 20 * 1000}};
      timer_settime(timer, 0, &its, NULL);
      pid_t c = fork();
      if (c == 0) _exit(i & 0x7f);
      if (c < 0) return (void*)0L;
      sleep_us(300);
      if (i % 4 == 1) syscall(SYS_tgkill, getpid(), sleeper_tids[i / 4 % kSleepers], SIGUSR1);
      if (i % 4 == 3) syscall(SYS_tgkill, getpid(), sleeper_tids[i / 4 % kSleepers], SIGUSR2);
      int st;
      while (waitpid(c, &st, 0) != c) {
      }
      if (WIFEXITED(st) && WEXITSTATUS(st) == (i & 0x7f)) ++reaped;
    }
  }
  timer_delete(timer);
  return (void*)reaped;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  set_action(SIGUSR1, on_signal, 0);
  set_action(SIGUSR2, on_signal, SA_RESTART);
  set_action(SIGALRM, on_signal, SA_RESTART);
  if (pipe(read_pipe) || pipe(poll_pipe) || pipe(waited_pipe)) return 1;
  waited_child = fork();
  if (waited_child == 0) {
    char c;
    while (read(waited_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(42);
  }
  void* (*bodies[kSleepers])(void*) = {nanosleeper, futex_waiter, reader, poller, selecter, child_waiter};
  pthread_t sleepers[kSleepers];
  for (long i = 0; i < kSleepers; ++i) pthread_create(&sleepers[i], NULL, bodies[i], (void*)i);
  while (atomic_load(&started) < kSleepers) sleep_us(100);
  pthread_t f;
  pthread_create(&f, NULL, forker, NULL);
  void* reaped;
  pthread_join(f, &reaped);
  printf("forker reaped %ld of %d children\n", (long)reaped, 3 * kRoundsPerPhase);
  atomic_store(&done, 1);
  if (write(read_pipe[1], "r", 1) != 1 || write(poll_pipe[1], "p", 1) != 1 || write(waited_pipe[1], "w", 1) != 1)
    return 1;
  long ok = 0;
  for (int i = 0; i < kSleepers; ++i) {
    void* r;
    pthread_join(sleepers[i], &r);
    ok += i < 2 ? 1 : (long)r;
  }
  printf("sleepers finished: %ld of %d\n", ok, kSleepers);
  return 0;
}
