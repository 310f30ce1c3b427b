/* syscall_paths: what one syscall costs on each path a recorder could send
 * it down, measured on this machine (docs/syscall-buffer.md rests on these
 * numbers). A child makes N getppid calls; its parent is a minimal ptrace
 * tracer that does nothing at the stops but resume.
 *
 *   native          no tracer
 *   ptrace-syscall  PTRACE_SYSCALL: an entry and an exit stop per call
 *                   (what rr record does today)
 *   seccomp-trace   a seccomp filter returns TRACE, the tracer resumes with
 *                   PTRACE_CONT: a seccomp stop, then PTRACE_SYSCALL for
 *                   the exit stop (what a traced call costs once the
 *                   recorder runs tracees with PTRACE_CONT)
 *   seccomp-allow   the same filter, the calls made from the one
 *                   instruction address it allows: no stop at all (a
 *                   buffered call's kernel part)
 *
 * Then whether a software context-switch perf event (no PMU needed) can
 * tell a thread that blocks in read() of an empty pipe: the signal it
 * sends is what a buffered blocking call would wake the recorder with.
 *
 * Usage: syscall_paths [N]     (default 200000; prints one line per path) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/perf_event.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum path { NATIVE, PTRACE_SYSCALL_PATH, SECCOMP_TRACE, SECCOMP_ALLOW };
static const char* const path_names[] = {"native", "ptrace-syscall", "seccomp-trace", "seccomp-allow"};

/* The one allowed syscall instruction: `syscall; ret`, rax = number. */
extern long allowed_syscall(long nr);
extern char allowed_syscall_after[];
__asm__(".text\n.globl allowed_syscall\nallowed_syscall:\n"
        "  mov %rdi, %rax\n"
        "  syscall\n"
        ".globl allowed_syscall_after\nallowed_syscall_after:\n"
        "  ret\n");

static long traced_syscall(long nr)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
    return ret;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Allows syscalls whose instruction pointer (the address after the syscall
 * instruction) is `ip`, gives every other one to the tracer. */
static int install_filter(uint64_t ip)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
    };
    struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void child(enum path p, long n)
{
    if (p != NATIVE && ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(90);
    raise(SIGSTOP);  /* the tracer sets PTRACE_O_TRACESECCOMP first: without it TRACE fails every call */
    if ((p == SECCOMP_TRACE || p == SECCOMP_ALLOW) && install_filter((uint64_t)allowed_syscall_after) != 0) _exit(91);
    for (long i = 0; i < n; ++i) {
        if (p == SECCOMP_ALLOW) allowed_syscall(SYS_getppid);
        else traced_syscall(SYS_getppid);
    }
    _exit(0);
}

/* Seconds for n calls on path p, and the stops the tracer saw. */
static double run(enum path p, long n, long* stops)
{
    *stops = 0;
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(1); }
    if (pid == 0) child(p, n);
    int status;
    if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) { fprintf(stderr, "child did not stop\n"); exit(1); }
    double t0 = now();
    if (p == NATIVE) {
        kill(pid, SIGCONT);
        waitpid(pid, &status, 0);
        return now() - t0;
    }
    ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL);
    int req = p == PTRACE_SYSCALL_PATH ? PTRACE_SYSCALL : PTRACE_CONT;
    ptrace(req, pid, 0, 0);
    for (;;) {
        if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); exit(1); }
        if (WIFEXITED(status) || WIFSIGNALED(status)) break;
        ++*stops;
        int next = req;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8))) next = PTRACE_SYSCALL;  // on to the exit stop
        else if (WSTOPSIG(status) == (SIGTRAP | 0x80)) next = req;
        ptrace(next, pid, 0, 0);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s: child ended with status 0x%x\n", path_names[p], status);
        exit(1);
    }
    return now() - t0;
}

static volatile sig_atomic_t desched_signals;
static void on_desched(int sig) { (void)sig; ++desched_signals; }

/* Opens a context-switch counter on this thread that sends SIGIO at every
 * switch out, blocks once in read() of a pipe another thread fills, and
 * says whether the signal came. */
static void* fill_later(void* arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    (void)!write(*(int*)arg, "x", 1);
    return NULL;
}

#include <pthread.h>
static void context_switch_event(void)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
    attr.sample_period = 1;
    attr.disabled = 1;
    attr.exclude_kernel = 0;
    int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) {
        printf("context-switch event: perf_event_open fails: %s\n", strerror(errno));
        return;
    }
    signal(SIGIO, on_desched);
    struct f_owner_ex owner = {F_OWNER_TID, (pid_t)syscall(SYS_gettid)};
    if (fcntl(fd, F_SETOWN_EX, &owner) != 0 || fcntl(fd, F_SETFL, O_ASYNC) != 0 || fcntl(fd, F_SETSIG, SIGIO) != 0) {
        printf("context-switch event: cannot route its signal: %s\n", strerror(errno));
        return;
    }
    int pipefd[2];
    if (pipe(pipefd) != 0) return;
    pthread_t th;
    pthread_create(&th, NULL, fill_later, &pipefd[1]);
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    char c;
    ssize_t got = read(pipefd[0], &c, 1);
    int read_errno = errno;
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    pthread_join(th, NULL);
    printf("context-switch event: read() blocked and returned %zd%s%s; %d signal(s) from the event\n", got,
           got < 0 ? " errno " : "", got < 0 ? strerror(read_errno) : "", (int)desched_signals);
}

int main(int argc, char** argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    double native = 0;
    for (enum path p = NATIVE; p <= SECCOMP_ALLOW; ++p) {
        long stops;
        double t = run(p, n, &stops);
        if (p == NATIVE) native = t;
        printf("%-15s %8.3f us/call  %6.1fx native  %ld stops\n", path_names[p], t / n * 1e6, t / native, stops);
        fflush(stdout);
    }
    context_switch_event();
    return 0;
}
