/* private_grow_sigbus: a MAP_PRIVATE mapping of a file that is grown and
   shrunk under it: a page past the end faults with SIGBUS (caught by a
   handler) exactly until the file reaches it, a page not yet copied on
   write shows what the file holds, and a page copied on write keeps its
   copy. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096

static sigjmp_buf env;
static volatile int faults;

static void on_bus(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    faults++;
    printf("  SIGBUS %d code %d at page %ld\n", sig, si->si_code, (long)((char *)si->si_addr - (char *)0) % (64 * PAGE) / PAGE);
    siglongjmp(env, 1);
}

static void show(const char *when, volatile char *map, int pages)
{
    printf("%s:\n", when);
    for (int i = 0; i < pages; i++) {
        if (sigsetjmp(env, 1) == 0)
            printf("  page %d: %d\n", i, map[i * PAGE]);
    }
}

int main(void)
{
    char dir[] = "/tmp/rrtest-privgrow-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/grow", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

    /* Aligned to 64 pages so that the handler can name the page. */
    char *area = mmap(NULL, 128 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    char *at = (char *)(((unsigned long)area + 64 * PAGE - 1) & ~(64UL * PAGE - 1));
    char *p = mmap(at, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
    CHECK(p == at);
    show("empty file", p, 3);

    CHECK(ftruncate(fd, PAGE) == 0);
    p[0] = 'x'; /* copied on write */
    show("one page, first copied on write", p, 3);

    char buf[2 * PAGE];
    memset(buf, 7, sizeof buf);
    CHECK(pwrite(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf);
    show("pwrite of two pages of 7", p, 3);

    CHECK(ftruncate(fd, 0) == 0);
    show("truncated to nothing", p, 3);
    printf("SIGBUS faults caught: %d\n", faults);

    CHECK(munmap(area, 128 * PAGE) == 0);
    CHECK(close(fd) == 0 && unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
