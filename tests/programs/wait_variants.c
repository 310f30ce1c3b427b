// wait4, waitid and WNOHANG polling; WIFSIGNALED and WIFEXITED.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  pid_t a = fork();
  if (a == 0) _exit(11);
  pid_t b = fork();
  if (b == 0) {
    raise(SIGUSR1);
    _exit(0);
  }
  int st;
  struct rusage ru;
  if (wait4(a, &st, 0, &ru) != a) return 1;
  printf("a: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
  siginfo_t si;
  if (waitid(P_PID, b, &si, WEXITED) != 0) return 1;
  printf("b: code %d status %d\n", si.si_code == CLD_KILLED, si.si_status);
  pid_t c = fork();
  if (c == 0) {
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    _exit(2);
  }
  int polls = 0;
  for (;;) {
    pid_t r = waitpid(c, &st, WNOHANG);
    if (r == c) break;
    ++polls;
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("c: code %d, polled at least once: %d\n", WEXITSTATUS(st), polls > 0);
  printf("no children left: %d\n", wait(&st) == -1);
  return 0;
}
