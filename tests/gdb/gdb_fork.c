// A parent and its children, for gdb's inferiors and fork events: a fork
// child that waits on a pipe until the parent has been seen with it, then
// works and exits with 3; a vfork child that execs this program again
// (vfork_returned marks the parent's return from vfork) and waits on the same
// pipe until the parent is past vfork_returned, so the parent's stop there
// comes before the child's end in every recording.
// Built with -O0 -g by tests/integration/gdb_test.py.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int worked;  // what the last child_work returned, in each process

__attribute__((noinline)) int child_work(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += i;
  worked = s;
  return s;
}

// Both processes exist while the parent is here: the child waits for it.
__attribute__((noinline)) void parent_ready(pid_t child) { (void)child; }

__attribute__((noinline)) int parent_done(int child_status) { return child_status; }

// The parent, back from its vfork (the child has exec'd).
__attribute__((noinline)) void vfork_returned(pid_t child) { (void)child; }

int main(int argc, char** argv) {
  if (argc > 1) {
    printf("exec'd %s\n", argv[1]);
    fflush(stdout);
    char go;
    // The pipe's read end, inherited through the exec (fd 3 when the
    // parent made it; when run alone there is none and it goes on).
    ssize_t got = read(3, &go, 1);
    (void)got;
    return 0;
  }
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    char n;
    if (read(fds[0], &n, 1) != 1) _exit(1);
    printf("child worked %d\n", child_work(n));
    fflush(stdout);
    _exit(3);
  }
  parent_ready(pid);
  write(fds[1], "\x0a", 1);
  int status;
  waitpid(pid, &status, 0);
  printf("parent saw %d\n", WEXITSTATUS(status));
  fflush(stdout);
  parent_done(WEXITSTATUS(status));
  pid = vfork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "vforked", (char*)NULL);
    _exit(127);
  }
  vfork_returned(pid);
  write(fds[1], "\x01", 1);
  waitpid(pid, &status, 0);
  printf("done\n");
  return 0;
}
