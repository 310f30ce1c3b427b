// SIGCHLD and SIGUSR1 read through a signalfd.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGCHLD);
  sigaddset(&s, SIGUSR1);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int fd = signalfd(-1, &s, SFD_CLOEXEC);
  if (fd < 0) return 1;
  pid_t p = fork();
  if (p == 0) {
    kill(getppid(), SIGUSR1);
    _exit(21);
  }
  int seen_usr1 = 0, seen_chld = 0;
  while (!seen_usr1 || !seen_chld) {
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != sizeof si) return 1;
    if (si.ssi_signo == SIGUSR1) seen_usr1 = si.ssi_pid == (unsigned)p;
    if (si.ssi_signo == SIGCHLD) seen_chld = si.ssi_status == 21 ? 1 : 2;
  }
  int st;
  waitpid(p, &st, 0);
  printf("usr1 from the child: %d, chld with status 21: %d\n", seen_usr1, seen_chld);
  return 0;
}
