// A thread whose work is one long `rep movsb` at a time (64 MiB copied by a
// single instruction, which takes no branch for milliseconds), while the
// main thread waits to run and then stops it. Under rr only one thread runs
// at a time: the copier is preempted only if the recorder can end its
// stretch although its ticks (taken branches) come thousands of times too
// slowly for its timeslice (record="--timeslice 20000").
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPY_BYTES (64 << 20)

static _Atomic int stop_copying;
static _Atomic long copies;
static char* src;
static char* dst;

static void copy_all(void) {
  void* d = dst;
  const void* s = src;
  size_t n = COPY_BYTES;
  __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
}

static void* copier(void* arg) {
  (void)arg;
  while (!atomic_load(&stop_copying)) {
    copy_all();
    atomic_fetch_add(&copies, 1);
  }
  return NULL;
}

int main(void) {
  src = malloc(COPY_BYTES);
  dst = malloc(COPY_BYTES);
  if (!src || !dst) return 1;
  for (size_t i = 0; i < COPY_BYTES; ++i) src[i] = (char)(i * 7 + 1);
  pthread_t t;
  if (pthread_create(&t, NULL, copier, NULL) != 0) return 1;
  // The copier runs while this thread sleeps, and is inside its rep movsb
  // when it wakes.
  struct timespec ts = {0, 100000};
  while (atomic_load(&copies) < 2) nanosleep(&ts, NULL);
  atomic_store(&stop_copying, 1);
  pthread_join(t, NULL);
  printf("rep movsb: the copy %s the source\n", memcmp(src, dst, COPY_BYTES) == 0 ? "equals" : "differs from");
  return 0;
}
