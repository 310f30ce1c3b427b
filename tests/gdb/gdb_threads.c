// Threads for the gdb tests: three workers call work() in turn. Barriers
// keep every worker alive from before its first work() to after the last
// one's, so that whatever the recorded schedule, a stop in work() sees the
// main thread and the three workers.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
int shared[4];
pthread_barrier_t started, finished;
__attribute__((noinline)) void work(int id) { shared[id] += id + 1; }
void* run(void* arg) {
  int id = (int)(long)arg;
  pthread_barrier_wait(&started);
  for (int k = 0; k < 3; ++k) { work(id); usleep(1000); }
  pthread_barrier_wait(&finished);
  return NULL;
}
int main(void) {
  pthread_t t[3];
  pthread_barrier_init(&started, NULL, 3);
  pthread_barrier_init(&finished, NULL, 3);
  for (long i = 0; i < 3; ++i) pthread_create(&t[i], NULL, run, (void*)i);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  printf("%d %d %d\n", shared[0], shared[1], shared[2]);
  return 0;
}
