// Processes that share their parent's memory without being its threads
// (clone with CLONE_VM and neither CLONE_THREAD nor CLONE_VFORK), as
// LeakSanitizer's helper is made:
//  1. a child that writes into the parent's memory and exits; the parent
//     waits for it and reads what it wrote;
//  2. a child made with CLONE_UNTRACED (which the recorder must trace all
//     the same) and no exit signal, waited for with __WALL;
//  3. a child that maps memory the parent then reads, moves the shared
//     program break (sbrk), and execs: the parent's memory is untouched by
//     the exec, and the parent's break is where the child left it.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c)                                                      \
  do {                                                                \
    if (!(c)) {                                                       \
      printf("FAILED line %d: %s (errno %d)\n", __LINE__, #c, errno); \
      fflush(stdout);                                                 \
      _exit(1);                                                       \
    }                                                                 \
  } while (0)

static volatile long written;
static volatile long counter;
static char* volatile mapped;
static long sum_to(long n) {
  long s = 0;
  for (long i = 1; i <= n; ++i) s += i;
  return s;
}

static int writer(void* arg) {
  written = sum_to((long)arg);
  return 0;
}

static int untraced(void* arg) {
  (void)arg;
  for (int i = 0; i < 1000; ++i) counter = counter + 1;
  return 3;
}

static int execer(void* arg) {
  (void)arg;
  char* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return 9;
  strcpy(m, "written by the child before its exec");
  mapped = m;
  if (sbrk(8192) == (void*)-1) return 11;
  char* argv[] = {"/bin/echo", "echo run by a child that shared its parent's memory", NULL};
  execv(argv[0], argv);
  return 10;
}

static pid_t wait_all(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, __WALL);
  while (r < 0 && errno == EINTR);
  return r;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  size_t size = 256 * 1024;
  char* stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(stack != MAP_FAILED);
  int status;

  pid_t a = clone(writer, stack + size, CLONE_VM | SIGCHLD, (void*)100);
  CHECK(a > 0);
  CHECK(wait_all(a, &status) == a);
  printf("1: child exited %d, wrote %ld\n", WEXITSTATUS(status), written);

  pid_t b = clone(untraced, stack + size, CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, NULL);
  CHECK(b > 0);
  CHECK(wait_all(b, &status) == b);
  printf("2: child exited %d, counter %ld\n", WEXITSTATUS(status), counter);

  long before = written;
  char* brk_before = sbrk(0);
  pid_t c = clone(execer, stack + size, CLONE_VM | SIGCHLD, NULL);
  CHECK(c > 0);
  CHECK(wait_all(c, &status) == c);
  char* brk_after = sbrk(0);
  CHECK(brk_after == brk_before + 8192);
  CHECK(sbrk(4096) == brk_after && sbrk(0) == brk_after + 4096);
  printf("3: child exited %d; it left \"%s\"; parent's memory %s\n", WEXITSTATUS(status),
         mapped ? mapped : "(nothing)", written == before ? "intact" : "changed");
  return 0;
}
