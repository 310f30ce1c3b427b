/* ns_init_thread_exit: the first process of a new PID namespace ends its
 * main thread first (pthread_exit), then another thread calls exit(66)
 * while a process it left behind in the namespace still sleeps. The kernel
 * kills and reaps that one before the first process's exit can finish; the
 * leader's zombie must not be waited for before that. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *ender(void *arg)
{
    (void)arg;
    exit(66);
}

int main(void)
{
    if (unshare(CLONE_NEWPID) != 0) {
        printf("no PID namespace here\n");
        return 0;
    }
    pid_t init = fork();
    if (init < 0) return 1;
    if (init == 0) {
        if (getpid() != 1) _exit(2);
        if (fork() == 0) {
            /* Its child outlives it and is reparented to the first process. */
            if (fork() == 0) sleep(20);
            _exit(0);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_t th;
        if (pthread_create(&th, NULL, ender, NULL) != 0) _exit(3);
        pthread_exit(NULL);
    }
    int status;
    if (waitpid(init, &status, 0) != init) return 1;
    printf("the namespace's first process: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return 0;
}
