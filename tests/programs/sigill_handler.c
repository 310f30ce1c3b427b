/* sigill_handler: SIGILL from ud2; recovered once via siglongjmp and once by advancing RIP in the ucontext. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static sigjmp_buf env;
static volatile sig_atomic_t mode, code, hits;

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    (void)sig;
    hits++;
    code = si->si_code;
    if (mode == 0)
        siglongjmp(env, 1);
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* skip the 2-byte ud2 */
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGILL, &sa, NULL) != 0)
        return 1;

    if (sigsetjmp(env, 1) == 0) {
        __asm__ volatile("ud2");
        printf("ud2 did not trap?!\n");
    } else {
        printf("caught SIGILL (siglongjmp), si_code ILL_ILLOPN: %s\n", code == ILL_ILLOPN ? "yes" : "no");
    }

    mode = 1;
    volatile int after = 0;
    __asm__ volatile("ud2");
    after = 1;
    printf("caught SIGILL (RIP+2 in ucontext), execution continued: %s\n", after ? "yes" : "no");
    printf("handler invocations: %d\n", (int)hits);
    return 0;
}
