// A thread that spins without syscalls while the main thread is ready to
// run: the recorder cannot switch between them and must say so.
#include <pthread.h>
#include <unistd.h>

static void* spin(void* arg) {
  volatile unsigned long* n = arg;
  for (;;) (*n)++;
  return NULL;
}

int main(void) {
  static unsigned long counter;
  pthread_t t;
  pthread_create(&t, NULL, spin, &counter);
  for (;;) getppid();
}
