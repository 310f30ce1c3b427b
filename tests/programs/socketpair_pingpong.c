// Parent and child pass a counter back and forth over a socketpair. The
// child's signal actions and program break change as it goes: it ignores
// SIGPIPE, handles SIGUSR1 once (SA_RESETHAND: the kernel resets the action
// as it delivers the parent's SIGUSR1, sent at the 100th round), starts to
// ignore SIGUSR2 at its 50th round and moves its break every 20th (sbrk).
// With the argument "waitall" the child reads with recv(MSG_WAITALL), a
// call that may write part of what it asked before it waits for the rest,
// and the parent makes 300 calls of its own (getppid) after the 100th
// round, while the child waits.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) {
  (void)sig;
  usr1 += 1;
}

static ssize_t receive(int fd, int* v, int waitall) {
  return waitall ? recv(fd, v, sizeof *v, MSG_WAITALL) : read(fd, v, sizeof *v);
}

static void child(int fd, int waitall) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  if (sigaction(SIGUSR1, &sa, NULL) != 0) _exit(2);
  signal(SIGPIPE, SIG_IGN);
  int v;
  for (int n = 1; receive(fd, &v, waitall) == sizeof v; ++n) {
    if (n == 50) signal(SIGUSR2, SIG_IGN);
    if (n % 20 == 0) {
      char* before = sbrk(0);
      if (sbrk(4096) != before || sbrk(0) != before + 4096) _exit(3);
    }
    v += 1 + usr1;
    if (write(fd, &v, sizeof v) != sizeof v) break;
  }
  _exit(0);
}

int main(int argc, char** argv) {
  int waitall = argc > 1 && strcmp(argv[1], "waitall") == 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
  pid_t p = fork();
  if (p == 0) {
    close(sv[0]);
    child(sv[1], waitall);
  }
  close(sv[1]);
  int v = 0;
  for (int i = 0; i < 200; ++i) {
    v *= 2;
    if (i == 100) kill(p, SIGUSR1);
    for (int k = 0; waitall && i == 100 && k < 300; ++k) v += getppid() == 0;
    if (write(sv[0], &v, sizeof v) != sizeof v || read(sv[0], &v, sizeof v) != sizeof v) return 1;
    v %= 100003;
  }
  close(sv[0]);
  int st;
  waitpid(p, &st, 0);
  printf("final %d, child status %d\n", v, st);
  return 0;
}
