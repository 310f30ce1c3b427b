/* seccomp_status: what prctl says about seccomp and no_new_privs, before
 * and after the program sets them itself, in a thread and in a child. The
 * recorder's syscall buffer installs a seccomp filter of its own (and sets
 * no_new_privs where it needs to): the program must see what it sees
 * natively, 0 until it sets them. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char *when)
{
    printf("%s: seccomp %d, no_new_privs %d\n", when, prctl(PR_GET_SECCOMP, 0, 0, 0, 0),
           prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    fflush(stdout);
}

static void *in_thread(void *arg)
{
    show((const char *)arg);
    return NULL;
}

static void in_child(const char *when)
{
    pid_t pid = fork();
    if (pid == 0) {
        show(when);
        _exit(0);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) exit(1);
}

int main(void)
{
    show("start");
    in_child("child at start");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 1;
    show("after no_new_privs");
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return 1;
    show("after a filter");
    pthread_t th;
    if (pthread_create(&th, NULL, in_thread, "thread after a filter") != 0 || pthread_join(th, NULL) != 0) return 1;
    in_child("child after a filter");
    return 0;
}
