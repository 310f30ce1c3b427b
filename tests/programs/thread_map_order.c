/* Two threads change the address space at once: one unmaps a large region
 * (freeing its pages takes the kernel milliseconds) while the other, woken
 * just before, maps a region that fits only where the first one was. The
 * kernel does the unmap first; a recorder that let the second thread run
 * while the unmap was in flight could write the mmap's exit before the
 * munmap's, and replay, which runs both at their exit events, would map over
 * the old region and then unmap the new one with it: the program's memset
 * faults in replay only. Prints what it read back from every new region. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

enum { kRounds = 4, kBig = 32 << 20, kSmall = 24 << 20 };

static sem_t mapped, unmapped, next_round;

static void* unmapper(void* arg) {
  (void)arg;
  for (int i = 0; i < kRounds; ++i) {
    char* p = mmap(NULL, kBig, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return "mmap failed";
    madvise(p, kBig, MADV_NOHUGEPAGE); /* small pages: the unmap takes time */
    memset(p, 1, kBig);
    sem_post(&mapped);
    munmap(p, kBig);
    sem_post(&unmapped);
    sem_wait(&next_round);
  }
  return NULL;
}

int main(void) {
  sem_init(&mapped, 0, 0);
  sem_init(&unmapped, 0, 0);
  sem_init(&next_round, 0, 0);
  pthread_t t;
  pthread_create(&t, NULL, unmapper, NULL);
  long sum = 0;
  for (int i = 0; i < kRounds; ++i) {
    sem_wait(&mapped);
    char* q = mmap(NULL, kSmall, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
      printf("mmap failed\n");
      return 1;
    }
    sem_wait(&unmapped);
    memset(q, 2, 1 << 20);
    sum += q[4096];
    munmap(q, kSmall);
    sem_post(&next_round);
  }
  void* ret;
  pthread_join(t, &ret);
  printf("rounds %d sum %ld %s\n", kRounds, sum, ret ? (char*)ret : "ok");
  return 0;
}
