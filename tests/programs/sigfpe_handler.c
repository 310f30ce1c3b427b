/* sigfpe_handler: SIGFPE from integer division by zero (and INT_MIN/-1) caught by an SA_SIGINFO handler, recovered via siglongjmp. */
#define _GNU_SOURCE
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile sig_atomic_t code, signo;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    signo = sig;
    code = si->si_code;
    siglongjmp(env, 1);
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGFPE, &sa, NULL) != 0)
        return 1;
    volatile int zero = 0, num = 1234, minus1 = -1, mn = INT_MIN;
    volatile int result = 0;

    if (sigsetjmp(env, 1) == 0) {
        result = num / zero;
        printf("no fault?! %d\n", result);
    } else {
        printf("caught SIGFPE: signo=%d si_code FPE_INTDIV: %s\n", (int)signo, code == FPE_INTDIV ? "yes" : "no");
    }
    if (sigsetjmp(env, 1) == 0) {
        result = num % zero;
        printf("no fault?! %d\n", result);
    } else {
        printf("caught SIGFPE from modulo by zero: %s\n", code == FPE_INTDIV ? "yes" : "no");
    }
    if (sigsetjmp(env, 1) == 0) {
        result = mn / minus1;
        printf("no fault?! %d\n", result);
    } else {
        printf("caught SIGFPE from INT_MIN / -1\n");
    }
    volatile double dz = 0.0;
    double d = 1.0 / dz;
    printf("float division by zero does not trap: %s\n", d > 1e308 ? "yes (inf)" : "no");
    return 0;
}
