// The program execs counter_pingpong (built next to it), whose two threads
// hand a turn back and forth through an atomic with no syscall while they
// wait: the progress counter must cover the images of later execs too, not
// only the first (rr record --progress-counter).
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
  if (n <= 0) return 1;
  path[n] = '\0';
  char* slash = strrchr(path, '/');
  if (!slash) return 1;
  strcpy(slash + 1, "counter_pingpong");
  printf("first image\n");
  fflush(stdout);
  execl(path, "counter_pingpong", (char*)NULL);
  perror("execl");
  return 1;
}
