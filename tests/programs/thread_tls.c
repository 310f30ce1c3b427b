// Thread-local storage: each thread sees its own copy, initialised per thread.
#include <pthread.h>
#include <stdio.h>

static __thread int tls_value = 7;
static __thread char tls_buf[64];

static void* work(void* arg) {
  long id = (long)arg;
  tls_value += (int)id * 100;
  snprintf(tls_buf, sizeof tls_buf, "thread %ld", id);
  return (void*)(long)(tls_value + (tls_buf[7] - '0'));
}

int main(void) {
  pthread_t t[3];
  for (long i = 0; i < 3; ++i) pthread_create(&t[i], NULL, work, (void*)i);
  for (int i = 0; i < 3; ++i) {
    void* r;
    pthread_join(t[i], &r);
    printf("thread %d returned %ld\n", i, (long)r);
  }
  printf("main still has %d and '%s'\n", tls_value, tls_buf);
  return 0;
}
