// Detached threads signal completion through a semaphore.
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

static sem_t done;
static int results[6];

static void* work(void* arg) {
  long id = (long)arg;
  int v = 1;
  for (int i = 0; i < 10 + id; ++i) v = v * 3 % 1009;
  results[id] = v;
  sem_post(&done);
  return NULL;
}

int main(void) {
  sem_init(&done, 0, 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (long i = 0; i < 6; ++i) {
    pthread_t t;
    pthread_create(&t, &attr, work, (void*)i);
  }
  for (int i = 0; i < 6; ++i) sem_wait(&done);
  for (int i = 0; i < 6; ++i) printf("result %d: %d\n", i, results[i]);
  return 0;
}
