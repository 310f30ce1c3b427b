// A program that signals its own process group, which under a recorder
// includes the recorder: kill(0, SIGUSR1) with a handler, then SIGUSR2 to
// the group through killpg, then SIGHUP ignored.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got[NSIG];

static void on_signal(int sig) { got[sig]++; }

int main(void) {
  signal(SIGUSR1, on_signal);
  signal(SIGUSR2, on_signal);
  signal(SIGHUP, SIG_IGN);
  kill(0, SIGUSR1);
  killpg(getpgrp(), SIGUSR2);
  kill(0, SIGHUP);
  printf("SIGUSR1 %d SIGUSR2 %d\n", (int)got[SIGUSR1], (int)got[SIGUSR2]);
  return 0;
}
