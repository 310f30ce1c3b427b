/* leader_exits_first: a child process whose main thread calls exit_group
   while two other threads of it wait in read (the leader's end comes
   before theirs, as when a Go program ends); then the parent reaps it and
   makes many more syscalls, where checkpoints must be possible again. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static int pipe_fds[2];

static void *waiter(void *arg)
{
    char c;
    (void)arg;
    (void)read(pipe_fds[0], &c, 1); /* nothing is ever written */
    return NULL;
}

int main(void)
{
    CHECK(pipe(pipe_fds) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        pthread_t a, b;
        CHECK(pthread_create(&a, NULL, waiter, NULL) == 0);
        CHECK(pthread_create(&b, NULL, waiter, NULL) == 0);
        for (int i = 0; i < 20; i++) sched_yield();
        syscall(SYS_exit_group, 5);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    printf("child exited %d\n", WEXITSTATUS(status));
    pid_t parent = getppid();
    for (int i = 0; i < 300; i++) CHECK(getppid() == parent);
    printf("parent made 300 calls\n");
    return 0;
}
