// A program for gdb's signal stops: a handled SIGUSR1 (raised by kill), a
// SIGALRM gdb is told to pass silently, then a crash through a pointer
// that the loop before it broke. The test reverses from the crash to the
// write that broke the pointer.
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

volatile int usr1_seen;
volatile int alrm_seen;
int slots[8];
int* volatile target = &slots[0];

static void on_usr1(int sig) { usr1_seen += sig; }
static void on_alrm(int sig) { alrm_seen += sig; }

static void fill(int n) {
  for (int i = 0; i < n; ++i) {
    slots[i % 8] = i;
    if (i == 5) target = (int*)16;  // the bug
  }
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  signal(SIGALRM, on_alrm);
  kill(getpid(), SIGUSR1);
  kill(getpid(), SIGALRM);
  printf("usr1 %d alrm %d\n", usr1_seen, alrm_seen);
  fflush(stdout);
  fill(8);
  *target = 1;  // crashes
  return 0;
}
