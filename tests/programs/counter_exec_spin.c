// The program execs itself, and the new image's two threads hand a turn back
// and forth through an atomic with no syscall while they wait: the progress
// counter must cover the images of later execs too, not only the first (rr
// record --progress-counter).
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 200

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

int main(int argc, char** argv) {
  if (argc < 2 || strcmp(argv[1], "again") != 0) {
    printf("first image\n");
    fflush(stdout);
    execl("/proc/self/exe", argv[0], "again", (char*)NULL);
    perror("execl");
    return 1;
  }
  pthread_t other;
  if (pthread_create(&other, NULL, player, (void*)1L) != 0) return 1;
  player((void*)0L);
  pthread_join(other, NULL);
  printf("second image: %ld and %ld turns, ends with %d\n", turns_seen[0], turns_seen[1], atomic_load(&turn));
  return 0;
}
