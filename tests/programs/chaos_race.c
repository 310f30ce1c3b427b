// A lost-update race: two threads add to a shared counter by reading it,
// computing a little, and writing it back, with no lock. Natively on two
// CPUs updates are lost often. Under rr one thread runs at a time, and with
// rr's default timeslice each thread's whole loop (about 50,000 counted
// branches) runs in one slice: no update is lost. rr record --chaos cuts
// the slices at random lengths, so that a thread is often preempted between
// its read and its write, and the race shows (tests/integration/chaos_test.py).
#include <pthread.h>
#include <stdio.h>

#define ADDS 2000

static volatile long counter;

static void* adder(void* arg) {
  (void)arg;
  for (int i = 0; i < ADDS; ++i) {
    long seen = counter;
    for (volatile int k = 0; k < 20; ++k) {
    }
    counter = seen + 1;
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, adder, NULL) != 0) return 1;
  adder(NULL);
  pthread_join(t, NULL);
  printf("counter %ld, %ld updates lost\n", counter, 2L * ADDS - counter);
  return 0;
}
