/* sigsegv_handler: SIGSEGV from writing a PROT_NONE page; recovered once via siglongjmp and once by mprotect-in-handler + retry. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf env;
static volatile sig_atomic_t mode, hits, addr_ok, code_accerr;
static char *page;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits++;
    addr_ok = (char *)si->si_addr >= page && (char *)si->si_addr < page + 4096 && sig == SIGSEGV;
    code_accerr = si->si_code == SEGV_ACCERR;
    if (mode == 0)
        siglongjmp(env, 1);
    /* mode 1: make the page writable and return, so the faulting store is retried */
    mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

int main(void)
{
    page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        return 1;

    mode = 0;
    if (sigsetjmp(env, 1) == 0) {
        ((volatile char *)page)[100] = 1;
        printf("store did not fault?!\n");
    } else {
        printf("caught SIGSEGV (siglongjmp recovery)\n");
    }
    printf("  fault address inside page: %s, si_code SEGV_ACCERR: %s\n", addr_ok ? "yes" : "no",
           code_accerr ? "yes" : "no");

    /* signal mask was restored by siglongjmp(savemask=1): SIGSEGV must be unblocked */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("  SIGSEGV unblocked after siglongjmp: %s\n", sigismember(&cur, SIGSEGV) ? "no" : "yes");

    mode = 1;
    ((volatile char *)page)[200] = 42;
    printf("caught SIGSEGV (mprotect recovery), store retried: value=%d\n", page[200]);
    printf("  fault address inside page: %s\n", addr_ok ? "yes" : "no");

    /* SEGV_MAPERR on an unmapped address */
    munmap(page, 4096);
    mode = 0;
    if (sigsetjmp(env, 1) == 0) {
        (void)((volatile char *)page)[0];
        printf("load did not fault?!\n");
    } else {
        printf("caught SIGSEGV on unmapped page, si_code SEGV_MAPERR: %s\n", code_accerr ? "no" : "yes");
    }
    printf("handler invocations: %d\n", (int)hits);
    return 0;
}
