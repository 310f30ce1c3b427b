/* pwrite_shared_view: pwrite and write into a file that is mapped
   MAP_SHARED read-only, read back through the mapping; also by a forked
   child while the parent keeps its mapping, and while nothing maps the
   file, before it is mapped again. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096

static uint32_t sum(const volatile unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(void)
{
    char dir[] = "/tmp/rrtest-pwriteview-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/view", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    unsigned char buf[3 * PAGE];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 13);
    CHECK(pwrite(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf);

    const unsigned char *view = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(view != MAP_FAILED);
    printf("mapped: %08x\n", sum(view, 2 * PAGE));
    CHECK(pwrite(fd, "pwritten", 8, 100) == 8);
    printf("after pwrite: '%.8s' %08x\n", view + 100, sum(view, 2 * PAGE));
    CHECK(pwrite(fd, "straddles", 9, PAGE - 4) == 9);
    printf("across pages: '%.9s'\n", view + PAGE - 4);
    CHECK(lseek(fd, 2 * PAGE - 3, SEEK_SET) == 2 * PAGE - 3);
    CHECK(write(fd, "written!", 8) == 8); /* partly past the mapping */
    printf("write at the end of the mapping: '%.3s'\n", view + 2 * PAGE - 3);
    struct iovec iov[2] = {{"vec", 3}, {"tor", 3}};
    CHECK(pwritev(fd, iov, 2, 200) == 6);
    printf("pwritev: '%.6s'\n", view + 200);

    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        CHECK(munmap((void *)view, 2 * PAGE) == 0);
        CHECK(pwrite(fd, "child", 5, 300) == 5);
        _exit(7);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child);
    printf("child exited %d; parent sees '%.5s'\n", WEXITSTATUS(status), view + 300);

    CHECK(munmap((void *)view, 2 * PAGE) == 0);
    CHECK(pwrite(fd, "unmapped", 8, 400) == 8);
    view = mmap(NULL, 3 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    CHECK(view != MAP_FAILED);
    printf("mapped again: '%.8s' %08x\n", view + 400, sum(view, 3 * PAGE));

    CHECK(munmap((void *)view, 3 * PAGE) == 0);
    CHECK(close(fd) == 0 && unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
