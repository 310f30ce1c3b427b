/* ptrace_pidns: a tracer inside a PID namespace the program made, as gdb
   or strace run in a container. unshare(CLONE_NEWPID) then fork: pid 1 of
   the new namespace traces a child (PTRACE_TRACEME) with the fork and exit
   events on, follows the fork of a grandchild it was never told the pid of
   (GETEVENTMSG), sees that grandchild's end before its parent does, reads
   a stop's siginfo and waits with waitid; then seizes and interrupts a
   second child. Every pid it prints is one of its namespace (2, 3, ...),
   the same natively, recorded and replayed; needs root. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
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

static pid_t wait_for(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, __WALL);
  while (r < 0 && errno == EINTR);
  return r;
}

static const char* event_name(int status) {
  switch (status >> 16) {
    case 0: return "none";
    case PTRACE_EVENT_FORK: return "fork";
    case PTRACE_EVENT_EXIT: return "exit";
    case PTRACE_EVENT_STOP: return "stop";
    default: return "other";
  }
}

static void traced_child(void) {
  CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
  syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
  pid_t g = fork();
  if (g == 0) _exit(5);
  int status;
  CHECK(wait_for(g, &status) == g);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) + 1 : 1);
}

static int init_main(void) {
  printf("tracer: pid %d\n", getpid());
  pid_t c = fork();
  if (c == 0) traced_child();
  int status;
  CHECK(wait_for(c, &status) == c);
  printf("child %d stopped by signal %d\n", c, WSTOPSIG(status));
  CHECK(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXIT) == 0);
  CHECK(ptrace(PTRACE_CONT, c, 0, 0) == 0);

  CHECK(wait_for(c, &status) == c);
  unsigned long msg = 0;
  CHECK(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg) == 0);
  siginfo_t si;
  CHECK(ptrace(PTRACE_GETSIGINFO, c, 0, &si) == 0);
  pid_t g = (pid_t)msg;
  printf("child %d: event %s, new pid %d, siginfo pid %d\n", c, event_name(status), g, si.si_pid);
  CHECK(wait_for(g, &status) == g);
  printf("grandchild %d stopped by signal %d\n", g, WSTOPSIG(status));
  CHECK(ptrace(PTRACE_CONT, g, 0, 0) == 0);
  CHECK(ptrace(PTRACE_CONT, c, 0, 0) == 0);

  // The grandchild's end comes to its tracer before its parent.
  CHECK(wait_for(g, &status) == g);
  printf("grandchild %d: event %s\n", g, event_name(status));
  CHECK(ptrace(PTRACE_CONT, g, 0, 0) == 0);
  CHECK(wait_for(g, &status) == g);
  printf("grandchild %d exited with %d\n", g, WEXITSTATUS(status));

  // Then its parent hears of it: a SIGCHLD (from the kernel, no pid in
  // it) stops it for its tracer, which drops the signal.
  CHECK(wait_for(c, &status) == c);
  CHECK(ptrace(PTRACE_GETSIGINFO, c, 0, &si) == 0);
  printf("child %d: event %s, signal %d, siginfo pid %d\n", c, event_name(status), WSTOPSIG(status), si.si_pid);
  CHECK(ptrace(PTRACE_CONT, c, 0, 0) == 0);
  CHECK(wait_for(c, &status) == c);
  printf("child %d: event %s\n", c, event_name(status));
  CHECK(ptrace(PTRACE_CONT, c, 0, 0) == 0);
  siginfo_t end = {0};
  while (waitid(P_PID, c, &end, WEXITED) < 0 && errno == EINTR) {
  }
  printf("child %d: waitid says pid %d exited with %d\n", c, end.si_pid, end.si_status);

  // Seize, interrupt and let go of a child that sleeps in read.
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t d = fork();
  if (d == 0) {
    char ch;
    while (read(p[0], &ch, 1) < 0 && errno == EINTR) {
    }
    _exit(9);
  }
  CHECK(ptrace(PTRACE_SEIZE, d, 0, 0) == 0);
  CHECK(ptrace(PTRACE_INTERRUPT, d, 0, 0) == 0);
  CHECK(wait_for(d, &status) == d);
  printf("seized %d: event %s\n", d, event_name(status));
  CHECK(ptrace(PTRACE_DETACH, d, 0, 0) == 0);
  CHECK(write(p[1], "x", 1) == 1);
  CHECK(wait_for(d, &status) == d);
  printf("seized %d exited with %d\n", d, WEXITSTATUS(status));
  CHECK(ptrace(PTRACE_ATTACH, 1, 0, 0) == -1 && errno == EPERM);
  printf("attach to itself refused\n");
  return 0;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  CHECK(unshare(CLONE_NEWPID) == 0);
  pid_t init = fork();
  CHECK(init >= 0);
  if (init == 0) _exit(init_main());
  int status;
  CHECK(wait_for(init, &status) == init);
  printf("tracer exited with %d\n", WEXITSTATUS(status));
  return WEXITSTATUS(status);
}
