/* pkeys: memory protection keys. The program allocates a key, tags a page
   with it, denies itself access through the key (PKRU, no syscall) and
   touches the page: a SIGSEGV with SEGV_PKUERR, whose handler tags the page
   with the default key (PKRU itself comes back from the signal frame).
   Then it frees the key, takes one again, tags the page with it and frees
   it while the page still carries it. Prints what it saw; on a machine
   without protection keys it says so. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int key = -1;
static volatile int faults;
static char* page;

static void on_segv(int sig, siginfo_t* si, void* ctx)
{
    (void)sig;
    (void)ctx;
    faults++;
    printf("SIGSEGV, code %s\n", si->si_code == SEGV_PKUERR ? "SEGV_PKUERR" : "other");
    if (faults > 3) _exit(1);
    pkey_mprotect(page, 4096, PROT_READ | PROT_WRITE, 0);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    key = pkey_alloc(0, 0);
    if (key < 0) {
        printf("no protection keys here (%s)\n", strerror(errno));
        return 0;
    }
    printf("allocated a key\n");
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("pkey_mprotect: %d\n", pkey_mprotect(page, 4096, PROT_READ | PROT_WRITE, key));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    page[0] = 'a';
    pkey_set(key, PKEY_DISABLE_ACCESS);
    page[1] = 'b';
    printf("after the fault: %c%c, %d fault(s), access rights now %d\n", page[0], page[1], faults, pkey_get(key));
    printf("pkey_free: %d\n", pkey_free(key));
    /* A key freed while a page still carries it (the kernel allows that):
       the page keeps the key, which no one holds. */
    int again = pkey_alloc(0, 0);
    printf("a key again: %s\n", again == key ? "the same" : again >= 0 ? "another" : "none");
    if (again >= 0) {
        printf("pkey_mprotect: %d\n", pkey_mprotect(page, 4096, PROT_READ | PROT_WRITE, again));
        printf("pkey_free while tagged: %d\n", pkey_free(again));
        page[2] = 'c';
        printf("the page after: %c%c%c\n", page[0], page[1], page[2]);
        printf("pkey_mprotect to the default key: %d\n", pkey_mprotect(page, 4096, PROT_READ | PROT_WRITE, 0));
    }
    return 0;
}
