/* exit_at_end: a process whose threads a tracer attached to (and left by
 * exiting) tells the initial process it is done and calls exit_group(77)
 * at once; the initial process exits then. The recording ends with the
 * initial process and kills what is left, but that exit is already under
 * way: the process must end with its own status in the recording, as it
 * does in replay, not with a kill that races with its exit. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4

static int tids[2], ready[2], release[2], status_pipe[2];

static void send_tid(void)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    if (write(tids[1], &tid, sizeof tid) != sizeof tid) exit(2);
}

static void *worker(void *arg)
{
    char c;
    (void)arg;
    send_tid();
    if (read(release[0], &c, 1) != 1) exit(3);
    return NULL;
}

static int tracee(void)
{
    pthread_t th[THREADS];
    send_tid();
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&th[i], NULL, worker, NULL) != 0) return 4;
    char c;
    if (read(ready[0], &c, 1) != 1 || c != 'R') return 5;
    for (int i = 0; i < THREADS; i++)
        if (write(release[1], "W", 1) != 1) return 6;
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    if (write(status_pipe[1], "K", 1) != 1) return 7;
    return 77;
}

static int tracer(void)
{
    if (fork() == 0) exit(tracee());
    pid_t tid[THREADS + 1];
    for (int i = 0; i < THREADS + 1; i++)
        if (read(tids[0], &tid[i], sizeof tid[i]) != sizeof tid[i]) return 8;
    for (int i = 0; i < THREADS + 1; i++) {
        int status;
        if (ptrace(PTRACE_ATTACH, tid[i], NULL, NULL) != 0) return 9;
        if (waitpid(tid[i], &status, __WALL) != tid[i] || !WIFSTOPPED(status)) return 10;
    }
    if (write(ready[1], "R", 1) != 1) return 11;
    return 44; /* the tracer leaves: its tracees go on */
}

int main(void)
{
    if (pipe(tids) || pipe(ready) || pipe(release) || pipe(status_pipe)) return 1;
    pid_t pid = fork();
    if (pid == 0) exit(tracer());
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 44) return 1;
    char c;
    if (read(status_pipe[0], &c, 1) != 1 || c != 'K') return 1;
    printf("the tracer left, its tracee is done\n");
    return 0;
}
