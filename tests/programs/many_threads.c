// Sixteen short-lived threads in waves, each returning a computed value.
#include <pthread.h>
#include <stdio.h>

static void* work(void* arg) {
  long n = (long)arg, v = 0;
  for (long i = 0; i <= n * 1000; ++i) v = (v + i * i) % 1000003;
  return (void*)v;
}

int main(void) {
  long total = 0;
  for (int wave = 0; wave < 4; ++wave) {
    pthread_t t[4];
    for (long i = 0; i < 4; ++i) pthread_create(&t[i], NULL, work, (void*)(wave * 4 + i));
    for (int i = 0; i < 4; ++i) {
      void* r;
      pthread_join(t[i], &r);
      total += (long)r;
    }
  }
  printf("total %ld\n", total);
  return 0;
}
