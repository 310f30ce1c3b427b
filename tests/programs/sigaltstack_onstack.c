/* sigaltstack_onstack: sigaltstack + SA_ONSTACK handler; reports whether the handler ran on the alternate stack (and a non-ONSTACK one didn't). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *alt;
static size_t altsz;
static volatile int on_alt[2], ss_onstack[2];

static void handler(int sig)
{
    int idx = sig == SIGUSR1 ? 0 : 1;
    char local;
    on_alt[idx] = (uintptr_t)&local >= (uintptr_t)alt && (uintptr_t)&local < (uintptr_t)alt + altsz;
    stack_t cur;
    sigaltstack(NULL, &cur);
    ss_onstack[idx] = (cur.ss_flags & SS_ONSTACK) != 0;
}

int main(void)
{
    altsz = 64 * 1024;
    alt = malloc(altsz);
    stack_t ss = { .ss_sp = alt, .ss_size = altsz, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        perror("sigaltstack");
        return 1;
    }
    stack_t q;
    sigaltstack(NULL, &q);
    printf("sigaltstack installed: size matches: %s, disabled: %s\n", q.ss_size == altsz ? "yes" : "no",
           (q.ss_flags & SS_DISABLE) ? "yes" : "no");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = 0;
    sigaction(SIGUSR2, &sa, NULL);

    raise(SIGUSR1);
    raise(SIGUSR2);
    printf("SA_ONSTACK handler ran on alt stack: %s (SS_ONSTACK reported: %s)\n", on_alt[0] ? "yes" : "no",
           ss_onstack[0] ? "yes" : "no");
    printf("plain handler ran on alt stack: %s (SS_ONSTACK reported: %s)\n", on_alt[1] ? "yes" : "no",
           ss_onstack[1] ? "yes" : "no");
    sigaltstack(NULL, &q);
    printf("outside handler SS_ONSTACK: %s\n", (q.ss_flags & SS_ONSTACK) ? "yes" : "no");

    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    on_alt[0] = -1;
    raise(SIGUSR1);
    printf("after SS_DISABLE, SA_ONSTACK handler on alt stack: %s\n", on_alt[0] ? "yes" : "no");
    free(alt);
    return 0;
}
