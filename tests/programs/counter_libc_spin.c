// Threads that spin and copy inside libc, not in the program's own code: a
// spin lock handed back and forth while the waiting thread spins in
// pthread_spin_lock, and a thread copying with memcpy while the main thread
// waits to stop it. Under rr only one thread runs at a time, so each turn
// needs the recorder to preempt a thread inside libc (the progress counter
// rewrites the shared libraries' code at their mmap; rr record
// --progress-counter).
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROUNDS 20
#define COPY_BYTES (64 << 20)

static pthread_spinlock_t lock;
static long held_by[2];
static _Atomic int stop_copying;
static _Atomic long copies;
static char* src;
static char* dst;

static void pause_briefly(void) {
  struct timespec ts = {0, 100000};
  nanosleep(&ts, NULL);
}

static void* contender(void* arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; ++i) {
    pthread_spin_lock(&lock);
    ++held_by[1];
    pthread_spin_unlock(&lock);
  }
  return NULL;
}

// The copy goes through memcpy 1 MiB at a time. One memcpy of the whole
// 64 MiB is, with glibc 2.36 on an Intel CPU whose L3 is large, a single
// `rep movsb` that takes no branch for milliseconds: work the progress
// counter cannot count (docs/progress-counter.md, "Work done without
// branches"), which stops the recording with a message instead. Chunks
// keep the copy inside libc on every CPU with taken branches between them.
#define CHUNK_BYTES (1 << 20)

static void* copier(void* arg) {
  (void)arg;
  while (!atomic_load(&stop_copying)) {
    for (size_t off = 0; off < COPY_BYTES; off += CHUNK_BYTES) memcpy(dst + off, src + off, CHUNK_BYTES);
    atomic_fetch_add(&copies, 1);
  }
  return NULL;
}

int main(void) {
  pthread_spin_init(&lock, PTHREAD_PROCESS_PRIVATE);
  pthread_t t;
  for (int i = 0; i < ROUNDS; ++i) {
    pthread_spin_lock(&lock);
    if (i == 0 && pthread_create(&t, NULL, contender, NULL) != 0) return 1;
    // The contender runs meanwhile and spins inside libc on the lock held here.
    pause_briefly();
    ++held_by[0];
    pthread_spin_unlock(&lock);
  }
  pthread_join(t, NULL);
  printf("spin lock: %ld and %ld turns\n", held_by[0], held_by[1]);

  src = malloc(COPY_BYTES);
  dst = malloc(COPY_BYTES);
  if (!src || !dst) return 1;
  for (size_t i = 0; i < COPY_BYTES; ++i) src[i] = (char)(i * 7 + 1);
  if (pthread_create(&t, NULL, copier, NULL) != 0) return 1;
  // The copier runs while this thread sleeps, and is inside memcpy when it wakes.
  while (atomic_load(&copies) < 2) pause_briefly();
  atomic_store(&stop_copying, 1);
  pthread_join(t, NULL);
  printf("memcpy: the copy %s the source\n", memcmp(src, dst, COPY_BYTES) == 0 ? "equals" : "differs from");
  return 0;
}
