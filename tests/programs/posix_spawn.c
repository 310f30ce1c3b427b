// posix_spawn (CLONE_VM|CLONE_VFORK in glibc) with file actions.
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc > 1) {
    printf("spawned with %s\n", argv[1]);
    return 3;
  }
  int fds[2];
  if (pipe(fds) != 0) return 1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char* args[] = {argv[0], "an argument", NULL};
  pid_t pid;
  int err = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ);
  if (err) {
    printf("posix_spawn failed: %s\n", strerror(err));
    return 1;
  }
  close(fds[1]);
  char buf[128];
  ssize_t n = read(fds[0], buf, sizeof buf);
  int st;
  waitpid(pid, &st, 0);
  printf("child said: %.*s", (int)n, buf);
  printf("child exited %d\n", WEXITSTATUS(st));
  err = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, args, environ);
  printf("spawning a missing program: %s\n", err ? "error" : "started");
  if (!err) {
    waitpid(pid, &st, 0);
    printf("it exited %d\n", WEXITSTATUS(st));
  }
  return 0;
}
