// Four threads meet at a barrier for several rounds; each round's work is
// checked by one thread after the barrier.
#include <pthread.h>
#include <stdio.h>

#define N 4
static pthread_barrier_t barrier;
static int slots[N];
static int checks;

static void* work(void* arg) {
  long id = (long)arg;
  for (int round = 1; round <= 10; ++round) {
    slots[id] = round * (int)(id + 1);
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) {
      int sum = 0;
      for (int i = 0; i < N; ++i) sum += slots[i];
      if (sum == round * N * (N + 1) / 2) checks++;
    }
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

int main(void) {
  pthread_barrier_init(&barrier, NULL, N);
  pthread_t t[N];
  for (long i = 0; i < N; ++i) pthread_create(&t[i], NULL, work, (void*)i);
  for (int i = 0; i < N; ++i) pthread_join(t[i], NULL);
  printf("rounds checked: %d\n", checks);
  return 0;
}
