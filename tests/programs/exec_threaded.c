// The main thread of a multi-threaded process execs while its other threads
// are blocked; the new program runs alone.
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t never = PTHREAD_MUTEX_INITIALIZER;

static void* blocker(void* arg) {
  (void)arg;
  pthread_mutex_lock(&never);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "after") == 0) {
    printf("after exec: running alone\n");
    return 0;
  }
  pthread_mutex_lock(&never);
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, blocker, NULL);
  usleep(10000);
  printf("before exec: 4 threads\n");
  fflush(stdout);
  char* args[] = {argv[0], "after", NULL};
  execv("/proc/self/exe", args);
  return 1;
}
