// A thread other than the main one calls execve while the main thread waits
// in pthread_join and a third sleeps: the kernel ends both, and the new
// program runs with the process's pid. The new program then does it again
// after its main thread has ended (pthread_exit): the execing thread takes
// the pid of a leader that is already a zombie.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static char* self_path;
static pid_t pid_before;
static const char* next_stage;

static void* sleeper(void* arg) {
  sleep(10);
  return arg;
}

// Whether the main thread has ended: its /proc entry says zombie.
static int leader_ended(void) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)pid_before);
  FILE* f = fopen(path, "re");
  if (!f) return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char* close = strrchr(buf, ')');
  return !close || close[2] == 'Z';
}

static void* execer(void* arg) {
  int after_leader = arg != NULL;
  while (after_leader && !leader_ended()) usleep(1000);
  char pid_arg[32];
  snprintf(pid_arg, sizeof pid_arg, "%d", (int)pid_before);
  printf("thread is not the leader: %d\n", (pid_t)syscall(SYS_gettid) != pid_before);
  fflush(stdout);
  char* argv[] = {self_path, (char*)next_stage, pid_arg, NULL};
  execv(self_path, argv);
  perror("execv");
  return NULL;
}

int main(int argc, char** argv) {
  self_path = argv[0];
  pid_before = getpid();
  if (argc == 3) {
    printf("after exec: same pid %d, tid is pid %d\n", getpid() == atoi(argv[2]),
           (pid_t)syscall(SYS_gettid) == getpid());
    if (strcmp(argv[1], "after") != 0) return 0;
    fflush(stdout);
    next_stage = "final";
    pthread_t e;
    pthread_create(&e, NULL, execer, (void*)1);
    pthread_exit(NULL);
  }
  next_stage = "after";
  pthread_t s, e;
  pthread_create(&s, NULL, sleeper, NULL);
  pthread_create(&e, NULL, execer, NULL);
  pthread_join(e, NULL);
  printf("not reached\n");
  return 1;
}
