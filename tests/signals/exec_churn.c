// Keeps the recorder busy with stops of every kind, for a SIGKILL from
// outside to land on at any moment: it execs itself over and over, and
// between execs opens, reads and closes files, maps and unmaps memory,
// forks a child that does the same and exits, and signals itself. Prints
// "ready" once, at its first start; runs until killed.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got += sig; }

static void churn(int rounds) {
  char buf[512];
  for (int i = 0; i < rounds; i++) {
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd >= 0) {
      if (read(fd, buf, sizeof buf) < 0) perror("read");
      close(fd);
    }
    void* p = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      memset(p, i, 4096);
      munmap(p, 3 * 4096);
    }
    getppid();
  }
}

int main(int argc, char** argv) {
  long generation = argc > 1 ? atol(argv[1]) : 0;
  if (generation == 0) {
    printf("ready\n");
    fflush(stdout);
  }
  signal(SIGUSR1, on_usr1);
  churn(20);
  raise(SIGUSR1);
  if (generation % 4 == 0) {
    pid_t child = fork();
    if (child == 0) {
      churn(10);
      _exit(0);
    }
    if (child > 0) waitpid(child, NULL, 0);
  }
  char next[32];
  snprintf(next, sizeof next, "%ld", generation + 1);
  execl("/proc/self/exe", argv[0], next, (char*)NULL);
  perror("execl");
  return 1;
}
