// A worker thread calls exit() while the main thread and another worker block.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void* blocker(void* arg) {
  (void)arg;
  pthread_mutex_lock(&never);
  return NULL;
}

static void* quitter(void* arg) {
  (void)arg;
  usleep(10000);
  printf("quitter ends the process\n");
  exit(6);
}

int main(void) {
  pthread_mutex_lock(&never);
  pthread_t a, b;
  pthread_create(&a, NULL, blocker, NULL);
  pthread_create(&b, NULL, quitter, NULL);
  pthread_join(a, NULL);
  printf("not reached\n");
  return 0;
}
