/* seccomp_filters: programs that install seccomp filters. Each case runs
   in a child of its own and prints what the filter made of its calls:
   an errno instead of the call (also for mprotect, which replay would
   otherwise run), a SIGSYS with the filter's data (SECCOMP_RET_TRAP), a
   blocked SIGSYS the kernel forces through (the child dies of it), a
   filter installed with prctl that lasts across an exec, one given to
   every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), and one that
   kills the process at a call (SECCOMP_RET_KILL_PROCESS). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

#define NR offsetof(struct seccomp_data, nr)
#define ARG0 offsetof(struct seccomp_data, args[0])

/* getppid fails with 42; read from fd 99 traps with data 7; mprotect
   asking for PROT_EXEC fails with EACCES; everything else runs. */
static struct sock_filter filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 42),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_read, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 99, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 7),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};
static struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};

static void on_sigsys(int sig, siginfo_t* si, void* ctx)
{
    (void)sig;
    (void)ctx;
    printf("SIGSYS: code %s, syscall %s, data %d\n", si->si_code == SYS_SECCOMP ? "SYS_SECCOMP" : "other",
           si->si_syscall == SYS_read ? "read" : "other", si->si_errno);
}

static void on_sigsys_plain(int sig) { (void)sig; _exit(5); }

static int install(unsigned flags)
{
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void filtered_calls(void)
{
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("getppid: %ld, errno %d\n", r, errno);
    char* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    errno = 0;
    r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
    printf("mprotect to PROT_EXEC: %ld, %s\n", r, strerror(errno));
    r = mprotect(page, 4096, PROT_READ);
    printf("mprotect to PROT_READ: %ld\n", r);
}

static int go[2];

static void* thread_main(void* arg)
{
    (void)arg;
    char c;
    if (read(go[0], &c, 1) != 1) return NULL;  /* until the filter is there */
    errno = 0;
    long r = syscall(SYS_getppid);
    printf("other thread's getppid: %ld, errno %d\n", r, errno);
    return NULL;
}

static void wait_child(const char* what, pid_t child)
{
    int status;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status)) printf("%s: killed by %s\n", what, strsignal(WTERMSIG(status)));
    else printf("%s: exited %d\n", what, WEXITSTATUS(status));
}

int main(int argc, char** argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1) {  /* after the exec: the filter is still there */
        filtered_calls();
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigsys;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSYS, &sa, NULL);
        printf("seccomp: %d\n", install(0));
        filtered_calls();
        char c;
        errno = 0;
        long r = read(99, &c, 1);
        printf("read from fd 99: %ld\n", r);
        _exit(0);
    }
    wait_child("errno and trap", child);

    child = fork();
    if (child == 0) {
        signal(SIGSYS, SIG_IGN);
        sigset_t sys;
        sigemptyset(&sys);
        sigaddset(&sys, SIGSYS);
        sigprocmask(SIG_BLOCK, &sys, NULL);
        install(0);
        char c;
        read(99, &c, 1);
        _exit(0);
    }
    wait_child("blocked and ignored SIGSYS", child);

    child = fork();
    if (child == 0) {
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        printf("prctl: %d\n", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
        execl("/proc/self/exe", argv[0], "after-exec", (char*)NULL);
        _exit(3);
    }
    wait_child("filter across exec", child);

    child = fork();
    if (child == 0) {
        pthread_t th;
        if (pipe(go) != 0) _exit(2);
        pthread_create(&th, NULL, thread_main, NULL);
        printf("seccomp with TSYNC: %d\n", install(SECCOMP_FILTER_FLAG_TSYNC));
        if (write(go[1], "x", 1) != 1) _exit(2);
        pthread_join(th, NULL);
        _exit(0);
    }
    wait_child("TSYNC", child);

    child = fork();
    if (child == 0) {
        struct sock_filter kill_yield[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sched_yield, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog kill_prog = {4, kill_yield};
        signal(SIGSYS, on_sigsys_plain);
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &kill_prog);
        sched_yield();
        _exit(4);
    }
    wait_child("killed by its filter", child);
    return 0;
}
