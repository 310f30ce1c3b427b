// A thread other than the main one calls execve while the main thread waits
// in pthread_join and a third sleeps: the kernel ends both, and the new
// program runs with the process's pid.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char* self_path;
static pid_t pid_before;

static void* sleeper(void* arg) {
  sleep(10);
  return arg;
}

static void* execer(void* arg) {
  char pid_arg[32];
  snprintf(pid_arg, sizeof pid_arg, "%d", (int)pid_before);
  printf("thread is not the leader: %d\n", (pid_t)syscall(SYS_gettid) != pid_before);
  fflush(stdout);
  char* argv[] = {self_path, "after", pid_arg, NULL};
  execv(self_path, argv);
  perror("execv");
  return arg;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "after") == 0) {
    printf("after exec: same pid %d, tid is pid %d\n", getpid() == atoi(argv[2]),
           (pid_t)syscall(SYS_gettid) == getpid());
    return 0;
  }
  self_path = argv[0];
  pid_before = getpid();
  pthread_t s, e;
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_create(&e, NULL, execer, NULL);
  pthread_join(e, NULL);
  printf("not reached\n");
  return 1;
}
