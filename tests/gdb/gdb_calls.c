// A program for gdb's calls into a replay (diversions): a list built one
// node per step, functions that walk it, allocate and return a string,
// change a global, crash, spin, read the clock, write to stdout and try to
// create a file. Built with -O0 -g by tests/integration/gdb_test.py.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct node {
  int value;
  struct node* next;
};
struct node* head;
int total;

int sum(struct node* n) {
  int s = 0;
  for (; n; n = n->next) s += n->value;
  return s;
}

char* describe(int n) {
  char* s = malloc(64);
  snprintf(s, 64, "a list of %d nodes", n);
  return s;
}

int add_to_total(int by) {
  total += by;
  return total;
}

int crash(int* p) { return *p; }

int say(int n) {
  char line[32];
  int len = snprintf(line, sizeof line, "said %d\n", n);
  return (int)write(1, line, len);
}

// -1 in a diversion: it must not create the file.
int make_file(const char* path) {
  int fd = open(path, O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) close(fd);
  return fd;
}

// A clock read, which a diversion runs for real: seconds since 1970.
long now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long)ts.tv_sec;
}

// Never returns: gdb's ^C must stop a call to it.
int spin(void) {
  volatile int x = 0;
  for (;;) ++x;
  return x;
}

__attribute__((noinline)) void step_done(int i) { (void)i; }

int main(void) {
  for (int i = 1; i <= 5; ++i) {
    struct node* n = malloc(sizeof *n);
    n->value = i;
    n->next = head;
    head = n;
    total += i;
    printf("total %d\n", total);
    step_done(i);
  }
  printf("sum %d\n", sum(head));
  return 0;
}
