// Four threads increment a counter under a mutex; main joins them.
#include <pthread.h>
#include <stdio.h>

static long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void* work(void* arg) {
  for (int i = 0; i < 2000; ++i) {
    pthread_mutex_lock(&lock);
    counter++;
    pthread_mutex_unlock(&lock);
  }
  return arg;
}

int main(void) {
  pthread_t t[4];
  for (long i = 0; i < 4; ++i) pthread_create(&t[i], NULL, work, (void*)i);
  for (int i = 0; i < 4; ++i) {
    void* r;
    pthread_join(t[i], &r);
    printf("joined %ld\n", (long)r);
  }
  printf("counter %ld\n", counter);
  return 0;
}
