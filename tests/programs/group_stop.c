/* group_stop: stop signals stop a whole process until a SIGCONT, and its
   parent sees both with waitpid (WUNTRACED, WCONTINUED).
   1. a child stops itself with raise(SIGSTOP);
   2. a child with three threads blocked in read/nanosleep/futex is stopped
      from outside with kill(SIGSTOP), continued, and its threads finish;
   3. SIGTSTP with a handler runs the handler and does not stop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void expect_stopped(pid_t c, int sig)
{
    int st;
    if (waitpid(c, &st, WUNTRACED) != c || !WIFSTOPPED(st)) {
        printf("FAIL: child not reported stopped (status 0x%x)\n", st);
        exit(1);
    }
    printf("child stopped by %s\n", WSTOPSIG(st) == sig ? strsignal(sig) : "another signal");
}

static void expect_continued(pid_t c)
{
    int st;
    if (waitpid(c, &st, WCONTINUED) != c || !WIFCONTINUED(st)) {
        printf("FAIL: child not reported continued (status 0x%x)\n", st);
        exit(1);
    }
    printf("child continued\n");
}

static int expect_exit(pid_t c)
{
    int st;
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st)) {
        printf("FAIL: child did not exit (status 0x%x)\n", st);
        exit(1);
    }
    return WEXITSTATUS(st);
}

static int pipefd[2];
static int go[2];  /* the parent has seen the child continued: it may end */

static void wait_for_go(void)
{
    char g;
    if (read(go[0], &g, 1) != 1) _exit(2);
}

static void* reader(void* arg)
{
    char c;
    (void)arg;
    return (void*)(long)read(pipefd[0], &c, 1);
}

static void* sleeper(void* arg)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    (void)arg;
    nanosleep(&ts, NULL);
    return (void*)1L;
}

static void stopped_from_outside(void)
{
    int ready[2];
    if (pipe(pipefd) || pipe(ready)) exit(1);
    pid_t c = fork();
    if (c == 0) {
        pthread_t a, b;
        pthread_create(&a, NULL, reader, NULL);
        pthread_create(&b, NULL, sleeper, NULL);
        write(ready[1], "r", 1);
        void *ra, *rb;
        pthread_join(a, &ra);
        pthread_join(b, &rb);
        wait_for_go();
        _exit((long)ra == 1 && (long)rb == 1 ? 21 : 1);
    }
    char r;
    read(ready[0], &r, 1);
    kill(c, SIGSTOP);
    expect_stopped(c, SIGSTOP);
    /* Stopped: a byte written now is read only after SIGCONT. */
    write(pipefd[1], "x", 1);
    kill(c, SIGCONT);
    expect_continued(c);
    write(go[1], "g", 1);
    printf("threaded child exit %d\n", expect_exit(c));
}

static volatile sig_atomic_t tstp_seen;
static void on_tstp(int sig)
{
    (void)sig;
    tstp_seen = 1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (pipe(go)) return 1;
    pid_t c = fork();
    if (c == 0) {
        raise(SIGSTOP);
        wait_for_go();
        _exit(7);
    }
    expect_stopped(c, SIGSTOP);
    kill(c, SIGCONT);
    expect_continued(c);
    write(go[1], "g", 1);
    printf("child exit %d\n", expect_exit(c));

    stopped_from_outside();

    signal(SIGTSTP, on_tstp);
    raise(SIGTSTP);
    printf("SIGTSTP with a handler: handler ran %d, process went on\n", (int)tstp_seen);
    return 0;
}
