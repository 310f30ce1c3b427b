// Process groups and sessions: setpgid, setsid, kill to a whole group.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t leader = fork();
  if (leader == 0) {
    setpgid(0, 0);
    pid_t member = fork();
    if (member == 0) {
      if (write(ready[1], "m", 1) != 1) _exit(1);
      pause();
      _exit(0);
    }
    if (write(ready[1], "l", 1) != 1) _exit(1);
    int st;
    waitpid(member, &st, 0);
    _exit(WIFSIGNALED(st) ? 100 + WTERMSIG(st) : 1);
  }
  setpgid(leader, leader);
  char buf[2];
  for (int n = 0; n < 2;) {
    ssize_t r = read(ready[0], buf + n, 2 - n);
    if (r <= 0) return 1;
    n += r;
  }
  printf("group is the leader's: %d\n", getpgid(leader) == leader);
  printf("we are in another group: %d\n", getpgrp() != leader);
  signal(SIGHUP, SIG_IGN);
  kill(-leader, SIGHUP);
  int st;
  waitpid(leader, &st, 0);
  printf("leader: signaled %d by %d\n", WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  pid_t s = fork();
  if (s == 0) {
    pid_t sid = setsid();
    _exit(sid == getpid() && getsid(0) == sid ? 0 : 1);
  }
  waitpid(s, &st, 0);
  printf("setsid child: %d\n", WEXITSTATUS(st));
  return 0;
}
