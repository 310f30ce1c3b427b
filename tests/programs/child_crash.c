// Children that die: abort() (core-dumping signal), a NULL dereference in a
// thread (the whole process dies), and one killed while blocked.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void* crash(void* arg) {
  volatile int* p = arg;
  *p = 1;
  return NULL;
}

int main(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
  pid_t a = fork();
  if (a == 0) abort();
  int st;
  waitpid(a, &st, 0);
  printf("abort: signaled %d by SIGABRT %d\n", WIFSIGNALED(st), WTERMSIG(st) == SIGABRT);
  pid_t b = fork();
  if (b == 0) {
    pthread_t t;
    pthread_create(&t, NULL, crash, NULL);
    pthread_join(t, NULL);
    _exit(0);
  }
  waitpid(b, &st, 0);
  printf("thread crash: signaled %d by SIGSEGV %d\n", WIFSIGNALED(st), WTERMSIG(st) == SIGSEGV);
  return 0;
}
