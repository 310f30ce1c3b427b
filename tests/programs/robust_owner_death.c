// A thread dies holding a robust mutex. The kernel marks the mutex's word
// FUTEX_OWNER_DIED at the thread's exit only if the word holds the dying
// thread's own tid, so replay must give every thread its recorded tid for
// the next lock to see EOWNERDEAD as it did when recorded.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t m;

static void* die_holding(void* arg) {
  pthread_mutex_lock(&m);
  return arg;  // ends without unlocking
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &a);
  for (int round = 0; round < 3; ++round) {
    pthread_t t;
    pthread_create(&t, NULL, die_holding, NULL);
    pthread_join(t, NULL);
    int r = pthread_mutex_lock(&m);
    printf("round %d: lock -> %s\n", round, r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
    if (r == EOWNERDEAD) pthread_mutex_consistent(&m);
    pthread_mutex_unlock(&m);
  }
  return 0;
}
