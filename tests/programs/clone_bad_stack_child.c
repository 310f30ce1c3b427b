/* clone_bad_stack_child: clone(2) takes any stack pointer for the child,
   even one that cannot be a stack; the child then faults at once. The
   parent prints how the child ended. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    long r = syscall(SYS_clone, SIGCHLD, (long)-1, (long)-1, (long)-1, (long)-1);
    if (r == 0) _exit(0);
    if (r < 0) {
        printf("clone failed\n");
        return 1;
    }
    int status;
    waitpid((pid_t)r, &status, 0);
    if (WIFSIGNALED(status)) printf("child with stack pointer -1: killed by %s\n", strsignal(WTERMSIG(status)));
    else printf("child with stack pointer -1: exited %d\n", WEXITSTATUS(status));
    return 0;
}
