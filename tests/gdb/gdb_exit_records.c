// A child whose last call before its exit goes through the syscall buffer:
// its exit's event carries that call's record. gdb stops at the child's
// exit, hears it ended, and goes on with the parent, which the replay can
// only do by running past the child's exit.
// Built with -O0 -g by tests/integration/gdb_test.py.
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) int child_gone(int status) { return status; }

int main(void) {
  int fds[2];
  if (pipe(fds) != 0) return 1;
  if (write(fds[1], "x", 1) != 1) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    _exit(read(fds[0], &c, 1) == 1 ? 5 : 1);
  }
  int status;
  waitpid(pid, &status, 0);
  child_gone(WEXITSTATUS(status));
  return 0;
}
