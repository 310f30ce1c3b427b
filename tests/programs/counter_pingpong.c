// Two threads hand a turn back and forth through an atomic, spinning with no
// syscall while they wait: under rr only one thread runs at a time, so every
// hand-over needs the recorder to preempt the spinning thread (the progress
// counter's trap; rr record --progress-counter).
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#define ROUNDS 300

static _Atomic int turn;
static long turns_seen[2];

static void* player(void* arg) {
  int me = (int)(long)arg;
  for (int i = 0; i < ROUNDS; ++i) {
    while (atomic_load_explicit(&turn, memory_order_acquire) != me) {
    }
    ++turns_seen[me];
    atomic_store_explicit(&turn, 1 - me, memory_order_release);
  }
  return NULL;
}

int main(void) {
  pthread_t other;
  if (pthread_create(&other, NULL, player, (void*)1L) != 0) return 1;
  player((void*)0L);
  pthread_join(other, NULL);
  printf("%ld and %ld turns, ends with %d\n", turns_seen[0], turns_seen[1], atomic_load(&turn));
  return 0;
}
