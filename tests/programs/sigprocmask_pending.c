/* sigprocmask_pending: block SIGUSR1, raise it, sigpending shows it, unblock -> handler runs; prints order of events. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char events[32];
static volatile sig_atomic_t nev;

static void note(char c) { events[nev++] = c; }
static void handler(int sig) { note(sig == SIGUSR1 ? 'H' : 'h'); }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);

    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    note('B'); /* blocking */
    sigprocmask(SIG_BLOCK, &block, &old);
    printf("SIGUSR1 blocked before: %s\n", sigismember(&old, SIGUSR1) ? "yes" : "no");
    raise(SIGUSR1);
    note('R'); /* raised */
    raise(SIGUSR1); /* standard signals don't queue: still one pending */
    sigpending(&pend);
    printf("after raise: handler ran: %s, sigpending has SIGUSR1: %s, SIGUSR2: %s\n",
           strchr(events, 'H') ? "yes" : "no", sigismember(&pend, SIGUSR1) ? "yes" : "no",
           sigismember(&pend, SIGUSR2) ? "yes" : "no");
    raise(SIGUSR2); /* not blocked: runs immediately */
    note('U'); /* about to unblock */
    sigprocmask(SIG_SETMASK, &old, NULL);
    note('D'); /* done unblocking */
    sigpending(&pend);
    printf("after unblock: sigpending has SIGUSR1: %s\n", sigismember(&pend, SIGUSR1) ? "yes" : "no");

    /* sigsuspend: block, raise, then atomically unblock and wait */
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR1);
    note('S');
    sigset_t waitmask;
    sigemptyset(&waitmask);
    sigsuspend(&waitmask);
    note('W');
    sigprocmask(SIG_BLOCK, NULL, &old);
    printf("after sigsuspend: mask restored (SIGUSR1 blocked): %s\n", sigismember(&old, SIGUSR1) ? "yes" : "no");

    /* sigtimedwait consumes a blocked pending signal without running the handler */
    raise(SIGUSR1);
    struct timespec ts = { 1, 0 };
    siginfo_t si;
    int s = sigtimedwait(&block, &si, &ts);
    note('T');
    /* raise() sends with tgkill (SI_TKILL) but glibc's sigtimedwait reports it as SI_USER */
    printf("sigtimedwait returned SIGUSR1: %s, si_code: %s\n", s == SIGUSR1 ? "yes" : "no",
           si.si_code == SI_USER ? "SI_USER" : si.si_code == SI_TKILL ? "SI_TKILL" : "other");
    ts.tv_sec = 0;
    ts.tv_nsec = 1000000;
    s = sigtimedwait(&block, &si, &ts);
    printf("sigtimedwait with nothing pending: %s\n", s < 0 ? "timeout" : "unexpected");

    /* SIGKILL/SIGSTOP cannot be blocked */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    sigprocmask(SIG_SETMASK, NULL, &old);
    printf("SIGKILL blockable: %s, SIGSTOP blockable: %s\n", sigismember(&old, SIGKILL) ? "yes" : "no",
           sigismember(&old, SIGSTOP) ? "yes" : "no");
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    events[nev] = 0;
    printf("event order: %s\n", events);
    printf("legend: B=block R=raised h=USR2 handler U=unblocking H=USR1 handler D=unblocked S=before sigsuspend W=after T=sigtimedwait\n");
    return 0;
}
