/* pid_ns: PID namespaces the program makes. unshare(CLONE_NEWPID) then fork:
   the child is pid 1 of the new namespace, forks grandchildren (pids 2, 3,
   ...), starts a thread, mounts a /proc of its namespace and reads it, and
   ends while a grandchild still sleeps (the kernel kills it). Before that,
   clone(CLONE_NEWPID): an init that ignores a signal it has no handler for,
   and an init that dies of a fault with a child alive. Prints what each
   saw (its own view of pids, never the recorder's); needs root. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void* thread_main(void* arg)
{
    (void)arg;
    printf("  thread: tid %ld, pid %d\n", syscall(SYS_gettid), getpid());
    fflush(stdout);
    return NULL;
}

static void describe(const char* who, pid_t got, pid_t want, int status)
{
    printf("%s: reaped %s, ", who, got == want ? "it" : "another");
    if (WIFEXITED(status)) printf("exit %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("killed by signal %d\n", WTERMSIG(status));
    else printf("status 0x%x\n", status);
    fflush(stdout);
}

/* pid 1 of the namespace unshare made. */
static int init_main(void)
{
    printf("init: pid %d, parent %d\n", getpid(), getppid());
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        printf("  grandchild: pid %d, parent %d\n", getpid(), getppid());
        fflush(stdout);
        _exit(7);
    }
    int status;
    pid_t got = waitpid(kid, &status, 0);
    printf("init: forked pid %d\n", kid);
    describe("init", got, kid, status);

    pthread_t th;
    pthread_create(&th, NULL, thread_main, NULL);
    pthread_join(th, NULL);

    /* A /proc of this namespace, in a mount namespace of its own. */
    if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("proc", "/proc", "proc", 0, NULL) == 0) {
        char self[32] = "";
        ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
        printf("init: /proc/self is %s\n", n > 0 ? self : "unreadable");
    } else {
        printf("init: cannot mount /proc\n");
    }

    /* A sleeper the kernel kills when this init ends. */
    int ready[2];
    pipe(ready);
    pid_t sleeper = fork();
    if (sleeper == 0) {
        write(ready[1], "x", 1);
        pause();
        _exit(1);
    }
    char c;
    read(ready[0], &c, 1);
    printf("init: sleeper is pid %d; leaving\n", sleeper);
    fflush(stdout);
    return 3;
}

static int ignoring_init(void* arg)
{
    (void)arg;
    printf("clone init: pid %d, parent %d\n", getpid(), getppid());
    fflush(stdout);
    /* The first process of a namespace ignores signals it has no handler for. */
    kill(getpid(), SIGTERM);
    printf("clone init: still here after SIGTERM\n");
    fflush(stdout);
    return 5;
}

static int faulting_init(void* arg)
{
    (void)arg;
    if (fork() == 0) {
        pause();
        _exit(1);
    }
    printf("faulting init: pid %d\n", getpid());
    fflush(stdout);
    *(volatile int*)8 = 1;
    return 0;
}

static char stack[1 << 16] __attribute__((aligned(16)));

static void in_clone(const char* who, int (*fn)(void*))
{
    pid_t pid = clone(fn, stack + sizeof(stack), CLONE_NEWPID | SIGCHLD, NULL);
    if (pid < 0) {
        perror("clone");
        exit(1);
    }
    int status;
    pid_t got = waitpid(pid, &status, 0);
    describe(who, got, pid, status);
}

int main(void)
{
    in_clone("main, ignoring init", ignoring_init);
    in_clone("main, faulting init", faulting_init);

    if (unshare(CLONE_NEWPID) != 0) {
        perror("unshare(CLONE_NEWPID)");
        return 1;
    }
    printf("main: still pid %s after unshare\n", getpid() > 1 ? "outside" : "1?");
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) return init_main();
    int status;
    pid_t got = waitpid(child, &status, 0);
    describe("main", got, child, status);
    /* The namespace ended with its init: another fork here fails. */
    pid_t again = fork();
    if (again == 0) _exit(0);
    printf("main: fork into the ended namespace: %s\n", again < 0 ? "fails" : "works");
    if (again > 0) waitpid(again, NULL, 0);
    return 0;
}
