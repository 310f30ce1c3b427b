// Threads for the gdb tests: three workers call work() in turn.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
int shared[4];
__attribute__((noinline)) void work(int id) { shared[id] += id + 1; }
void* run(void* arg) {
  int id = (int)(long)arg;
  for (int k = 0; k < 3; ++k) { work(id); usleep(1000); }
  return NULL;
}
int main(void) {
  pthread_t t[3];
  for (long i = 0; i < 3; ++i) pthread_create(&t[i], NULL, run, (void*)i);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  printf("%d %d %d\n", shared[0], shared[1], shared[2]);
  return 0;
}
