// A tracee for signals sent to rr while it records. It prints "ready",
// then a numbered line every 5 ms until told to stop.
//   interruptible handle   SIGINT, SIGTERM and SIGHUP are counted by a
//                          handler; the first one ends the loop, and the
//                          program prints how many of each it saw and exits 0
//   interruptible default  no handlers: the signal ends it (natively)
//   interruptible ignore   all three ignored: only SIGKILL ends it
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t counts[NSIG];
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  counts[sig]++;
  stop = 1;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "handle";
  int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; ++i) {
    if (strcmp(mode, "handle") == 0) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_signal;
      sigaction(sigs[i], &sa, NULL);
    } else if (strcmp(mode, "ignore") == 0) {
      signal(sigs[i], SIG_IGN);
    }
  }
  printf("ready\n");
  fflush(stdout);
  struct timespec five_ms = {0, 5000000};
  for (int n = 0; !stop; ++n) {
    printf("line %d\n", n);
    fflush(stdout);
    nanosleep(&five_ms, NULL);
  }
  printf("SIGINT %d SIGTERM %d SIGHUP %d\n", (int)counts[SIGINT], (int)counts[SIGTERM], (int)counts[SIGHUP]);
  return 0;
}
