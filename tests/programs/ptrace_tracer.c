// A program that traces its children, as debuggers and strace do:
//  1. a child under PTRACE_TRACEME whose syscalls the parent counts with
//     PTRACE_SYSCALL, one of them changed at its entry and one result faked
//     at its exit, and whose end it sees at PTRACE_EVENT_EXIT;
//  2. a breakpoint: int3 poked into the child's code, the SIGTRAP seen, the
//     instruction put back and rip moved back;
//  3. a seized child blocked in read: interrupted, its memory peeked and
//     poked, a signal injected for its handler, then detached;
//  4. a thread of a child attached while it sleeps in read, its registers
//     read, then detached;
//  5. a stopped tracee's memory written through /proc/PID/mem, as gdb
//     writes breakpoints (pwrite, pwritev, and writev through a copy of
//     the descriptor received over a socket);
//  6. a tracer that blocks SIGCHLD waiting for its tracee's stop, then
//     reading its TLS base with PTRACE_ARCH_PRCTL;
//  7. a child single-stepped through a loop with PTRACE_SINGLESTEP;
//  8. a child whose syscalls the tracer emulates: PTRACE_SYSEMU skips two
//     calls whose results it fakes, and PTRACE_SYSEMU_SINGLESTEP steps to
//     the entry of a third;
//  9. hardware breakpoints: a debug register set on a function's first
//     instruction, then one watching a variable's writes, each hit with
//     DR6 read back;
// 10. a thread of a child attached while it runs a loop of syscalls, its
//     loop count peeked and its stop flag poked before the detach;
// 11. seccomp stops: a child's own filter gives getppid and getuid to its
//     tracer (SECCOMP_RET_TRACE), which sees each with PTRACE_O_TRACESECCOMP,
//     lets the first run and turns the second into getpid, and a third
//     (getuid again) into getgid, which the filter fails with EACCES (the
//     kernel runs the filters again on the call a tracer leaves); a second child
//     whose tracer did not ask for those stops gets ENOSYS, as the kernel
//     answers when no tracer takes the call.
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>
#include <fcntl.h>
#include <asm/prctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#define CHECK(c)                                                   \
  do {                                                             \
    if (!(c)) {                                                    \
      printf("FAILED line %d: %s (errno %d)\n", __LINE__, #c, errno); \
      fflush(stdout);                                              \
      _exit(1);                                                    \
    }                                                              \
  } while (0)

static pid_t wait_for(pid_t pid, int* status) {
  pid_t r;
  do r = waitpid(pid, status, __WALL);
  while (r < 0 && errno == EINTR);
  return r;
}

// 1. Counting syscalls.
static void count_syscalls(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    raise(SIGSTOP);
    long a = syscall(SYS_getppid);  // the tracer turns this into getpid
    long b = syscall(SYS_getuid);   // and fakes this one's result
    syscall(SYS_getpid);
    _exit(a == getpid() && b == 4242 ? 7 : 8);
  }
  int status;
  CHECK(wait_for(child, &status) == child);
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
  CHECK(ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT) == 0);
  int entries = 0, exits = 0, entering = 1;
  for (;;) {
    CHECK(ptrace(PTRACE_SYSCALL, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child);
    if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) break;
    CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80));
    struct user_regs_struct regs;
    CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
    struct __ptrace_syscall_info info;
    long size = ptrace(PTRACE_GET_SYSCALL_INFO, child, sizeof(info), &info);
    CHECK(size > 0);
    CHECK(info.op == (entering ? PTRACE_SYSCALL_INFO_ENTRY : PTRACE_SYSCALL_INFO_EXIT));
    if (entering) {
      ++entries;
      printf("entry %d: syscall %llu\n", entries, (unsigned long long)regs.orig_rax);
      CHECK(info.entry.nr == regs.orig_rax);
      if (regs.orig_rax == SYS_getppid) {
        regs.orig_rax = SYS_getpid;
        CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
      }
    } else {
      ++exits;
      if (regs.orig_rax == SYS_getuid) {
        regs.rax = 4242;
        CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
      }
    }
    entering = !entering;
  }
  unsigned long msg = 0;
  CHECK(ptrace(PTRACE_GETEVENTMSG, child, 0, &msg) == 0);
  printf("entries %d exits %d, exit event status %lu\n", entries, exits, msg >> 8);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 1 exited with %d\n", WEXITSTATUS(status));
}

// 2. A breakpoint.
static int __attribute__((noinline)) target(int x) { return x * 3 + 1; }

static void breakpoint(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    raise(SIGSTOP);
    int r = target(5);
    _exit(r == 16 ? 9 : 10);
  }
  int status;
  CHECK(wait_for(child, &status) == child);
  uintptr_t at = (uintptr_t)&target;
  errno = 0;
  long orig = ptrace(PTRACE_PEEKTEXT, child, at, 0);
  CHECK(errno == 0);
  CHECK(ptrace(PTRACE_POKETEXT, child, at, (orig & ~0xffL) | 0xcc) == 0);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
  struct user_regs_struct regs;
  CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
  printf("breakpoint hit at target+%lld\n", (long long)(regs.rip - at));
  siginfo_t si;
  CHECK(ptrace(PTRACE_GETSIGINFO, child, 0, &si) == 0);
  printf("siginfo signo %d code %d\n", si.si_signo, si.si_code);
  CHECK(ptrace(PTRACE_POKETEXT, child, at, orig) == 0);
  regs.rip = at;
  CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 2 exited with %d\n", WEXITSTATUS(status));
}

// 3. Seize, interrupt, peek, poke, inject a signal, detach.
static volatile long shared_value = 1111;
static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

static void seize_and_inject(void) {
  int to_child[2], from_child[2];
  CHECK(pipe(to_child) == 0 && pipe(from_child) == 0);
  pid_t child = fork();
  if (child == 0) {
    signal(SIGUSR1, on_usr1);
    char c;
    CHECK(write(from_child[1], "r", 1) == 1);
    while (read(to_child[0], &c, 1) < 0 && errno == EINTR) {
    }
    char line[64];
    int n = snprintf(line, sizeof line, "value %ld usr1 %d", (long)shared_value, (int)got_usr1);
    CHECK(write(from_child[1], line, n) == n);
    _exit(11);
  }
  char c;
  siginfo_t si_seen;
  CHECK(read(from_child[0], &c, 1) == 1);
  CHECK(ptrace(PTRACE_SEIZE, child, 0, 0) == 0);
  CHECK(ptrace(PTRACE_INTERRUPT, child, 0, 0) == 0);
  int status;
  CHECK(wait_for(child, &status) == child);
  printf("interrupt stop: sig %d event %d\n", WSTOPSIG(status), status >> 16);
  errno = 0;
  long v = ptrace(PTRACE_PEEKDATA, child, &shared_value, 0);
  CHECK(errno == 0);
  printf("peeked %ld\n", v);
  CHECK(ptrace(PTRACE_POKEDATA, child, &shared_value, 2222) == 0);
  CHECK(ptrace(PTRACE_PEEKDATA, child, 0, 0) == -1 && errno == EIO);
  // A signal passed at an interrupt's stop is dropped, as the kernel does.
  CHECK(ptrace(PTRACE_CONT, child, 0, SIGUSR2) == 0);
  // SIGUSR2 (fatal to the child) is replaced by SIGUSR1 at its stop.
  CHECK(kill(child, SIGUSR2) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("signal stop: sig %d\n", WSTOPSIG(status));
  CHECK(ptrace(PTRACE_GETSIGINFO, child, 0, &si_seen) == 0);
  printf("siginfo signo %d from parent %d\n", si_seen.si_signo, si_seen.si_pid == getpid());
  CHECK(ptrace(PTRACE_CONT, child, 0, SIGUSR1) == 0);
  CHECK(ptrace(PTRACE_INTERRUPT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("second interrupt stop: sig %d event %d\n", WSTOPSIG(status), status >> 16);
  CHECK(ptrace(PTRACE_DETACH, child, 0, 0) == 0);
  CHECK(write(to_child[1], "g", 1) == 1);
  char line[64] = {0};
  CHECK(read(from_child[0], line, sizeof line - 1) > 0);
  printf("child 3 says: %s\n", line);
  CHECK(wait_for(child, &status) == child);
  printf("child 3 exited with %d\n", WEXITSTATUS(status));
}

// 4. Attach to a sleeping thread of a child.
static int thread_pipe[2], tid_pipe[2];
static void* sleeper(void* arg) {
  (void)arg;
  pid_t tid = syscall(SYS_gettid);
  CHECK(write(tid_pipe[1], &tid, sizeof tid) == sizeof tid);
  char c;
  while (read(thread_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
  return NULL;
}

static void attach_thread(void) {
  CHECK(pipe(thread_pipe) == 0 && pipe(tid_pipe) == 0);
  pid_t child = fork();
  if (child == 0) {
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    pthread_join(t, NULL);
    _exit(12);
  }
  pid_t tid;
  CHECK(read(tid_pipe[0], &tid, sizeof tid) == sizeof tid);
  CHECK(ptrace(PTRACE_ATTACH, tid, 0, 0) == 0);
  int status;
  CHECK(wait_for(tid, &status) == tid);
  printf("thread stop: sig %d\n", WSTOPSIG(status));
  struct user_regs_struct regs;
  struct iovec iov = {&regs, sizeof regs};
  CHECK(ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov) == 0);
  printf("regset length %zu, thread's fs base is the process's %d\n", iov.iov_len, regs.fs_base != 0);
  CHECK(ptrace(PTRACE_DETACH, tid, 0, 0) == 0);
  CHECK(write(thread_pipe[1], "x", 1) == 1);
  CHECK(wait_for(child, &status) == child);
  printf("child 4 exited with %d\n", WEXITSTATUS(status));
}

// 5. Writing a tracee's memory through /proc/PID/mem.
static volatile long mem_value = 5;
static volatile long mem_pair[2] = {6, 7};

static void proc_mem_write(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    raise(SIGSTOP);
    printf("child 5 sees %ld, %ld %ld\n", (long)mem_value, (long)mem_pair[0], (long)mem_pair[1]);
    _exit(13);
  }
  int status;
  CHECK(wait_for(child, &status) == child);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", child);
  int fd = open(path, O_RDWR);
  CHECK(fd >= 0);
  long v = 0;
  CHECK(pread(fd, &v, sizeof v, (off_t)(uintptr_t)&mem_value) == sizeof v);
  printf("read through mem: %ld\n", v);
  v = 55555;
  CHECK(pwrite(fd, &v, sizeof v, (off_t)(uintptr_t)&mem_value) == sizeof v);
  // Gathered from two buffers, at an offset and at the position.
  long first = 66, second = 77;
  struct iovec iov[2] = {{&first, sizeof first}, {&second, sizeof second}};
  CHECK(pwritev(fd, iov, 1, (off_t)(uintptr_t)&mem_pair[0]) == sizeof first);
  // The last one through a copy of the descriptor passed over a socket.
  int sv[2];
  CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  char cbuf[CMSG_SPACE(sizeof(int))];
  char byte = 'm';
  struct iovec one = {&byte, 1};
  struct msghdr msg = {0};
  msg.msg_iov = &one;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  CHECK(sendmsg(sv[0], &msg, 0) == 1);
  memset(cbuf, 0, sizeof cbuf);
  CHECK(recvmsg(sv[1], &msg, 0) == 1);
  int passed;
  memcpy(&passed, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
  CHECK(passed != fd);
  CHECK(lseek(passed, (off_t)(uintptr_t)&mem_pair[1], SEEK_SET) == (off_t)(uintptr_t)&mem_pair[1]);
  CHECK(writev(passed, iov + 1, 1) == sizeof second);
  close(passed);
  close(sv[0]);
  close(sv[1]);
  close(fd);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 5 exited with %d\n", WEXITSTATUS(status));
}

// 6. Waiting with SIGCHLD blocked; ARCH_PRCTL.
static void blocked_sigchld(void) {
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    char c;
    CHECK(read(go[0], &c, 1) == 1);
    raise(SIGUSR2);
    _exit(14);
  }
  sigset_t all, old;
  sigfillset(&all);
  CHECK(sigprocmask(SIG_SETMASK, &all, &old) == 0);
  CHECK(write(go[1], "g", 1) == 1);
  int status;
  CHECK(wait_for(child, &status) == child);
  printf("stop with SIGCHLD blocked: sig %d\n", WSTOPSIG(status));
  unsigned long fs = 0, own = 0;
  CHECK(ptrace(PTRACE_ARCH_PRCTL, child, &fs, ARCH_GET_FS) == 0);
  CHECK(syscall(SYS_arch_prctl, ARCH_GET_FS, &own) == 0);
  printf("tracee's fs base is the tracer's: %d\n", fs == own);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 6 exited with %d\n", WEXITSTATUS(status));
  CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

// 7. Single steps.
static long __attribute__((noinline)) spin(long n) {
  long acc = 0;
  for (long i = 0; i < n; ++i) acc = acc * 31 + (i & 7 ? i : -i);
  return acc;
}

// Stops itself with a bare kill (raise would make more syscalls after the stop).
static void stop_self(void) { syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP); }

static void single_steps(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    stop_self();
    volatile long r = spin(1000);
    _exit(r != 0 ? 17 : 18);
  }
  int status;
  CHECK(wait_for(child, &status) == child);
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
  uintptr_t at = (uintptr_t)&spin;
  int steps = 0, inside = 0;
  unsigned long long prev = 0, moved = 0;
  for (; steps < 400; ++steps) {
    CHECK(ptrace(PTRACE_SINGLESTEP, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child);
    CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
    struct user_regs_struct regs;
    CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
    if (regs.rip >= at && regs.rip < at + 128) ++inside;
    moved += regs.rip != prev;
    prev = regs.rip;
  }
  siginfo_t si;
  CHECK(ptrace(PTRACE_GETSIGINFO, child, 0, &si) == 0);
  printf("%d steps, %d inside the loop, rip moved %llu times, last si_code %d\n", steps, inside, moved, si.si_code);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 7 exited with %d\n", WEXITSTATUS(status));
}

// 8. Emulated syscalls.
static void emulated_syscalls(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    stop_self();
    long a = syscall(SYS_getppid);                      // faked: 777
    long w = syscall(SYS_write, 1, "not written\n", 12);  // faked: 12, and nothing written
    volatile long s = spin(20);
    long b = syscall(SYS_getuid);                       // reached by steps, faked: 4242
    _exit(a == 777 && w == 12 && b == 4242 && s != 0 ? 19 : 20);
  }
  int status;
  CHECK(wait_for(child, &status) == child);
  CHECK(ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD) == 0);
  for (int i = 0; i < 2; ++i) {
    CHECK(ptrace(PTRACE_SYSEMU, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child);
    CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == (SIGTRAP | 0x80));
    struct user_regs_struct regs;
    CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
    printf("emulating syscall %llu\n", (unsigned long long)regs.orig_rax);
    regs.rax = regs.orig_rax == SYS_write ? regs.rdx : 777;
    CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
  }
  int steps = 0;
  for (;;) {
    CHECK(ptrace(PTRACE_SYSEMU_SINGLESTEP, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child);
    CHECK(WIFSTOPPED(status));
    if (WSTOPSIG(status) == (SIGTRAP | 0x80)) break;
    CHECK(WSTOPSIG(status) == SIGTRAP);
    ++steps;
  }
  struct user_regs_struct regs;
  CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
  printf("%d steps to the entry of syscall %llu\n", steps, (unsigned long long)regs.orig_rax);
  regs.rax = 4242;
  CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 8 exited with %d\n", WEXITSTATUS(status));
}

// 9. Debug registers.
static void __attribute__((noinline)) hw_target(void) { __asm__ volatile("" ::: "memory"); }
static volatile long watched;

static void debug_registers(void) {
  int go[2];
  CHECK(pipe(go) == 0);
  pid_t child = fork();
  if (child == 0) {
    char c;
    CHECK(read(go[0], &c, 1) == 1);
    hw_target();
    for (int i = 0; i < 3; ++i) watched = watched + 10;
    _exit(watched == 30 ? 21 : 22);
  }
  CHECK(ptrace(PTRACE_ATTACH, child, 0, 0) == 0);
  int status;
  CHECK(wait_for(child, &status) == child);
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
  size_t dr = offsetof(struct user, u_debugreg);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr, (void*)&hw_target) == 0);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 7 * 8, (void*)0x1) == 0);  // DR0, on execution
  errno = 0;
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 5 * 8, 0) == -1 && errno == EIO);
  CHECK(write(go[1], "g", 1) == 1);
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
  struct user_regs_struct regs;
  CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
  long dr6 = ptrace(PTRACE_PEEKUSER, child, dr + 6 * 8, 0);
  printf("hardware breakpoint: at target %d, DR6 low bits %lx\n", regs.rip == (uintptr_t)&hw_target, dr6 & 0xf);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 6 * 8, 0) == 0);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 7 * 8, 0) == 0);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 1 * 8, (void*)&watched) == 0);
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 7 * 8, (void*)(0x4 | (0xdL << 20))) == 0);  // DR1, 8-byte writes
  for (int i = 0; i < 2; ++i) {
    CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child);
    CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP);
    errno = 0;
    long value = ptrace(PTRACE_PEEKDATA, child, (void*)&watched, 0);
    dr6 = ptrace(PTRACE_PEEKUSER, child, dr + 6 * 8, 0);
    printf("watchpoint %d: value %ld, DR6 low bits %lx\n", i, value, dr6 & 0xf);
    CHECK(ptrace(PTRACE_POKEUSER, child, dr + 6 * 8, 0) == 0);
  }
  CHECK(ptrace(PTRACE_POKEUSER, child, dr + 7 * 8, 0) == 0);
  CHECK(ptrace(PTRACE_DETACH, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 9 exited with %d\n", WEXITSTATUS(status));
}

// 10. Attach to a running thread (one making syscalls in a loop).
static volatile long spins;
static volatile long spin_stop;
static void* spinner(void* arg) {
  (void)arg;
  pid_t tid = syscall(SYS_gettid);
  CHECK(write(tid_pipe[1], &tid, sizeof tid) == sizeof tid);
  while (!spin_stop) {
    syscall(SYS_getppid);
    spins++;
  }
  return NULL;
}

static void attach_running_thread(void) {
  pid_t child = fork();
  if (child == 0) {
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    pthread_join(t, NULL);
    _exit(13);  // only once the tracer's poke of spin_stop ended the loop
  }
  pid_t tid;
  CHECK(read(tid_pipe[0], &tid, sizeof tid) == sizeof tid);
  CHECK(ptrace(PTRACE_ATTACH, tid, 0, 0) == 0);
  int status;
  CHECK(wait_for(tid, &status) == tid);
  printf("running thread stop: sig %d\n", WSTOPSIG(status));
  errno = 0;
  ptrace(PTRACE_PEEKDATA, tid, (void*)&spins, 0);  // how far it got varies: only the read is checked
  CHECK(errno == 0);
  CHECK(ptrace(PTRACE_POKEDATA, tid, (void*)&spin_stop, (void*)1L) == 0);
  CHECK(ptrace(PTRACE_DETACH, tid, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 10 exited with %d\n", WEXITSTATUS(status));
}

// 11. Seccomp stops.
static void install_trace_filter(void) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 7),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 8),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getgid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0);
}

static void seccomp_stops(void) {
  pid_t child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    pid_t parent = getppid();
    install_trace_filter();
    stop_self();
    long ppid = syscall(SYS_getppid);
    long uid = syscall(SYS_getuid);
    errno = 0;
    long gid = syscall(SYS_getuid);
    int refused = gid == -1 && errno == EACCES;
    _exit((ppid == parent ? 0 : 1) | (uid == syscall(SYS_getpid) ? 0 : 2) | (refused ? 0 : 4) | 24);
  }
  int status;
  CHECK(wait_for(child, &status) == child && WIFSTOPPED(status));
  CHECK(ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESECCOMP) == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
    CHECK(wait_for(child, &status) == child && WIFSTOPPED(status));
    unsigned long msg = 0;
    CHECK(ptrace(PTRACE_GETEVENTMSG, child, 0, &msg) == 0);
    struct user_regs_struct regs;
    CHECK(ptrace(PTRACE_GETREGS, child, 0, &regs) == 0);
    printf("seccomp stop %d: event %d, data %lu, call %s\n", i, status >> 16 == PTRACE_EVENT_SECCOMP, msg,
           regs.orig_rax == SYS_getppid ? "getppid" : regs.orig_rax == SYS_getuid ? "getuid" : "other");
    if (regs.orig_rax == SYS_getuid) {
      regs.orig_rax = i == 1 ? SYS_getpid : SYS_getgid;
      CHECK(ptrace(PTRACE_SETREGS, child, 0, &regs) == 0);
    }
  }
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 11 exited with %d\n", WEXITSTATUS(status));

  // Without PTRACE_O_TRACESECCOMP the call fails with ENOSYS.
  child = fork();
  if (child == 0) {
    CHECK(ptrace(PTRACE_TRACEME, 0, 0, 0) == 0);
    install_trace_filter();
    stop_self();
    long r = syscall(SYS_getppid);
    _exit(r == -1 && errno == ENOSYS ? 22 : 1);
  }
  CHECK(wait_for(child, &status) == child && WIFSTOPPED(status));
  CHECK(ptrace(PTRACE_CONT, child, 0, 0) == 0);
  CHECK(wait_for(child, &status) == child);
  printf("child 11b exited with %d\n", WEXITSTATUS(status));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  count_syscalls();
  breakpoint();
  seize_and_inject();
  attach_thread();
  proc_mem_write();
  blocked_sigchld();
  single_steps();
  emulated_syscalls();
  debug_registers();
  attach_running_thread();
  seccomp_stops();
  return 0;
}
