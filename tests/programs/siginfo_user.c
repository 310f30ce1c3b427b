/* siginfo_user: SA_SIGINFO handler reports si_signo/si_code for kill (SI_USER), sigqueue (SI_QUEUE + value) and raise (SI_TKILL). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int signo, code, pid_ok, uid_ok, value;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    signo = si->si_signo;
    code = si->si_code;
    pid_ok = si->si_pid == getpid();
    uid_ok = si->si_uid == getuid();
    value = si->si_value.sival_int;
}

static const char *codename(int c)
{
    switch (c) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    default: return "other";
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN, &sa, NULL);

    kill(getpid(), SIGUSR1);
    printf("kill: si_signo=%d si_code=%d (%s) si_pid==getpid: %s si_uid==getuid: %s\n", signo, code,
           codename(code), pid_ok ? "yes" : "no", uid_ok ? "yes" : "no");

    union sigval v = { .sival_int = 4242 };
    sigqueue(getpid(), SIGUSR1, v);
    printf("sigqueue: si_signo=%d si_code=%d (%s) value=%d si_pid==getpid: %s\n", signo, code,
           codename(code), value, pid_ok ? "yes" : "no");

    raise(SIGUSR1);
    printf("raise: si_signo=%d si_code=%d (%s)\n", signo, code, codename(code));

    /* realtime signals queue: block, send 3, unblock -> 3 deliveries in order */
    sigset_t b, o;
    sigemptyset(&b);
    sigaddset(&b, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &b, &o);
    for (int i = 1; i <= 3; i++) {
        v.sival_int = i * 100;
        sigqueue(getpid(), SIGRTMIN, v);
    }
    siginfo_t si;
    struct timespec ts = { 0, 0 };
    printf("queued RT values via sigtimedwait:");
    while (sigtimedwait(&b, &si, &ts) == SIGRTMIN)
        printf(" %d", si.si_value.sival_int);
    printf("\n");
    sigprocmask(SIG_SETMASK, &o, NULL);
    return 0;
}
