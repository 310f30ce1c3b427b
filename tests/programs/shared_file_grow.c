/* shared_file_grow: a MAP_SHARED mapping of a file larger than the file,
   which then grows under it with ftruncate, truncate, pwrite, write and
   fallocate, and shrinks: the pages
   past the end fault with SIGBUS (caught) until the file reaches them, and
   what the calls wrote shows through the mapping. */
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
    (void)sig; (void)si; (void)ctx;
    faults++;
    siglongjmp(env, 1);
}

/* The first byte of each page of the mapping, or "BUS" where it faults. */
static void show(const char *when, volatile char *map, int pages)
{
    printf("%s:", when);
    for (int i = 0; i < pages; i++) {
        if (sigsetjmp(env, 1) == 0)
            printf(" %d", map[i * PAGE]);
        else
            printf(" BUS");
    }
    printf("\n");
}

int main(void)
{
    char dir[] = "/tmp/rrtest-sharedgrow-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/grow", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    struct sigaction sa = {0};
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGBUS, &sa, NULL) == 0);

    CHECK(ftruncate(fd, 100) == 0);
    char *rw = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char *ro = mmap(NULL, 4 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(rw != MAP_FAILED && ro != MAP_FAILED);
    rw[0] = 1;
    show("100 bytes", ro, 4);

    CHECK(ftruncate(fd, PAGE + 1) == 0);
    rw[PAGE] = 2;
    show("ftruncate to a page and a byte", ro, 4);

    char buf[PAGE];
    memset(buf, 3, sizeof buf);
    CHECK(pwrite(fd, buf, sizeof buf, 2 * PAGE) == PAGE);
    show("pwrite of the third page", ro, 4);

    memset(buf, 4, sizeof buf);
    CHECK(lseek(fd, 0, SEEK_END) == 3 * PAGE);
    CHECK(write(fd, buf, 10) == 10);
    show("write of 10 bytes at the end", ro, 4);

    CHECK(truncate(path, 2 * PAGE + 1) == 0);
    show("truncate by path to two pages and a byte", ro, 4);
    CHECK(ftruncate(fd, PAGE) == 0);
    show("ftruncate back to a page", ro, 4);
    CHECK(fallocate(fd, 0, 0, 2 * PAGE) == 0);
    show("fallocate of two pages", ro, 4);
    rw[PAGE + 5] = 9;
    CHECK(pread(fd, buf, 1, PAGE + 5) == 1);
    printf("pread sees the write through the mapping: %d\n", buf[0]);
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PAGE) == 0);
    show("hole punched in the first page", ro, 4);
    printf("SIGBUS faults caught: %d\n", faults);

    CHECK(munmap(rw, 4 * PAGE) == 0 && munmap(ro, 4 * PAGE) == 0);
    CHECK(close(fd) == 0 && unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
