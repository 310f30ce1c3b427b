/* mask_wait_signals: waits that install a signal mask of their own (ppoll,
   epoll_pwait, pselect) interrupted by a signal their mask lets through,
   and a signal their mask blocks that arrives during the wait and is
   delivered after it, under the program's own mask again. Each handler
   prints whether SIGUSR2 (blocked by the waits' masks only) was blocked
   while it ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int usr2_blocked_in_handler = -1;

static void handler(int sig)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    usr2_blocked_in_handler = sigismember(&now, SIGUSR2);
    (void)sig;
}

static void arm_alarm(void)
{
    struct itimerval it = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void report(const char* what, int ret, int err)
{
    printf("%s: ret=%d %s, SIGUSR2 blocked in the handler: %s\n", what, ret, ret < 0 ? strerror(err) : "",
           usr2_blocked_in_handler < 0 ? "no handler ran" : usr2_blocked_in_handler ? "yes" : "no");
    usr2_blocked_in_handler = -1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    int p[2];
    if (pipe(p) != 0) return 1;
    sigset_t wait_mask;
    sigemptyset(&wait_mask);
    sigaddset(&wait_mask, SIGUSR2);

    /* SIGALRM is not blocked by the program: the waits are interrupted. */
    struct pollfd pf = {p[0], POLLIN, 0};
    struct timespec two_s = {2, 0};
    arm_alarm();
    int r = ppoll(&pf, 1, &two_s, &wait_mask);
    report("ppoll interrupted", r, errno);

    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {0}};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    arm_alarm();
    r = epoll_pwait(ep, &ev, 1, 2000, &wait_mask);
    report("epoll_pwait interrupted", r, errno);

    fd_set rfds;
    FD_ZERO(&rfds);
    FD_SET(p[0], &rfds);
    arm_alarm();
    r = pselect(p[0] + 1, &rfds, NULL, NULL, &two_s, &wait_mask);
    report("pselect interrupted", r, errno);

    /* A child's end during a wait whose mask blocks SIGCHLD: the wait
       times out, and the handler runs after it, under the program's mask. */
    sigaddset(&wait_mask, SIGCHLD);
    pid_t child = fork();
    if (child == 0) _exit(0);
    struct timespec short_wait = {0, 200000000};
    r = ppoll(&pf, 1, &short_wait, &wait_mask);
    report("ppoll with SIGCHLD blocked", r, errno);
    waitpid(child, NULL, 0);
    return 0;
}
