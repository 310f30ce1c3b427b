// Waits that see clone children (__WALL, __WCLONE): a thread blocks in
// waitpid(-1, __WALL) for the first child while the main thread makes
// calls until it returns, then the main thread polls waitid(P_ALL, __WALL | WNOHANG) for a
// second child between calls of its own. Every pid a wait returns must be
// one of the program's two children, each reaped once with its status, and
// a wait with no child left must fail with ECHILD: a child the program did
// not make (a copy of its process, say) would show in these waits. All of
// it runs in a child of the first process.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t kids[2];
static int strangers, statuses[2] = {-1, -1};
static atomic_int first_reaped;

static void reaped(pid_t pid, int status) {
  for (int i = 0; i < 2; ++i)
    if (pid == kids[i] && statuses[i] < 0) {
      statuses[i] = status;
      return;
    }
  ++strangers;
  fprintf(stderr, "a wait returned pid %d, not a child of the program's\n", pid);
}

static pid_t child(int rounds, int status) {
  pid_t pid = fork();
  if (pid == 0) {
    for (int i = 0; i < rounds; ++i) syscall(SYS_getppid);
    _exit(status);
  }
  return pid;
}

static void* waiter(void* arg) {
  (void)arg;
  for (;;) {
    int st = 0;
    pid_t w = waitpid(-1, &st, __WALL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      if (errno != ECHILD) printf("waitpid(__WALL): %s\n", strerror(errno));
      return NULL;
    }
    reaped(w, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    atomic_store(&first_reaped, 1);
  }
}

static int run(int rounds) {
  kids[0] = child(rounds, 7);
  pthread_t th;
  pthread_create(&th, NULL, waiter, NULL);
  // Calls that stop in the recorder while the thread waits.
  while (!atomic_load(&first_reaped)) syscall(SYS_getppid);
  pthread_join(th, NULL);

  kids[1] = child(rounds, 9);
  int polls = 0;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    ++polls;
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0) {
      if (errno != ECHILD) printf("waitid(__WALL): %s\n", strerror(errno));
      break;
    }
    if (si.si_pid != 0) reaped(si.si_pid, si.si_status);
    syscall(SYS_getppid);
  }
  int st;
  errno = 0;
  pid_t last = waitpid(-1, &st, __WCLONE | WNOHANG);
  printf("children exited with %d and %d; %s after them; %d other pids\n", statuses[0], statuses[1],
         last < 0 && errno == ECHILD ? "ECHILD" : "no ECHILD", strangers);
  (void)polls;
  return strangers != 0 || statuses[0] != 7 || statuses[1] != 9;
}

// In a process of its own: the first process of a recording is rr's child,
// and rr makes that one's copies its own children, which no wait of the
// program's can see.
int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 400;
  fflush(stdout);
  pid_t worker = fork();
  if (worker == 0) exit(run(rounds));
  int st;
  if (waitpid(worker, &st, 0) != worker) return 1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
