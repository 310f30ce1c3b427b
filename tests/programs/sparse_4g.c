/* sparse_4g: a 4 GiB sparse file with a few pages of data, mapped shared
   and privately; a hole is punched while it is mapped. The trace keeps the
   data, not the holes (the manifest bounds the trace's size). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096
#define SIZE (4ULL << 30)

int main(void)
{
    char dir[] = "/tmp/rrtest-sparse-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/sparse", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, SIZE) == 0);
    const uint64_t at[] = {0, 1ULL << 30, SIZE / 2 + 12345, SIZE - PAGE};
    for (int i = 0; i < 4; i++) {
        char page[PAGE];
        memset(page, 'A' + i, sizeof page);
        CHECK(pwrite(fd, page, sizeof page, at[i] & ~(uint64_t)(PAGE - 1)) == PAGE);
    }
    volatile char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(shared != MAP_FAILED);
    for (int i = 0; i < 4; i++) printf("data page %d: %c\n", i, shared[at[i] & ~(uint64_t)(PAGE - 1)]);
    printf("a hole reads as zero: %d\n", shared[3ULL << 30]);
    shared[(3ULL << 30) + 7] = 'w';
    CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1ULL << 30, PAGE) == 0);
    printf("after punching the second page: %d\n", shared[1ULL << 30]);
    CHECK(munmap((void *)shared, SIZE) == 0);

    CHECK(close(fd) == 0);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    const char *priv = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(priv != MAP_FAILED);
    printf("mapped privately again: %c %d %c %c\n", priv[0], priv[1ULL << 30], priv[(3ULL << 30) + 7], priv[SIZE - 1]);
    CHECK(munmap((void *)priv, SIZE) == 0);

    int mem = memfd_create("sparse", 0);
    CHECK(mem >= 0);
    CHECK(ftruncate(mem, SIZE) == 0);
    CHECK(pwrite(mem, "memfd", 5, SIZE / 2) == 5);
    const char *m = mmap(NULL, SIZE, PROT_READ, MAP_PRIVATE, mem, 0);
    CHECK(m != MAP_FAILED);
    printf("memfd: '%.5s'\n", m + SIZE / 2);
    CHECK(munmap((void *)m, SIZE) == 0);

    CHECK(close(mem) == 0 && close(fd) == 0 && unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
