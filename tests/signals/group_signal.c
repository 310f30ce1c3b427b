// A program that signals its own process group, which under a recorder
// includes the recorder: kill(0, SIGUSR1) with a handler, SIGUSR2 to the
// group through killpg, SIGALRM and a real-time signal with handlers, and
// SIGHUP ignored.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got[NSIG];

static void on_signal(int sig) { got[sig]++; }

int main(void) {
  signal(SIGUSR1, on_signal);
  signal(SIGUSR2, on_signal);
  signal(SIGALRM, on_signal);
  signal(SIGRTMIN + 3, on_signal);
  signal(SIGHUP, SIG_IGN);
  kill(0, SIGUSR1);
  killpg(getpgrp(), SIGUSR2);
  kill(0, SIGALRM);
  kill(0, SIGRTMIN + 3);
  kill(0, SIGHUP);
  printf("SIGUSR1 %d SIGUSR2 %d SIGALRM %d SIGRTMIN+3 %d\n", (int)got[SIGUSR1], (int)got[SIGUSR2], (int)got[SIGALRM],
         (int)got[SIGRTMIN + 3]);
  return 0;
}
