// The main thread ends with pthread_exit while a worker goes on and writes
// the output; the process ends with the last thread.
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void* work(void* arg) {
  (void)arg;
  usleep(20000);
  printf("worker outlived main\n");
  fflush(stdout);
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, work, NULL);
  printf("main leaves\n");
  fflush(stdout);
  pthread_exit(NULL);
}
