// Raw futex wait and wake between two threads, ping-pong style.
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int turn;

static void wait_for(int v) {
  int cur;
  while ((cur = atomic_load(&turn)) != v) syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, cur, NULL, NULL, 0);
}

static void pass_to(int v) {
  atomic_store(&turn, v);
  syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void* other(void* arg) {
  (void)arg;
  for (int i = 0; i < 100; ++i) {
    wait_for(1);
    pass_to(0);
  }
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, other, NULL);
  for (int i = 0; i < 100; ++i) {
    pass_to(1);
    wait_for(0);
  }
  pthread_join(t, NULL);
  printf("100 round trips\n");
  return 0;
}
