/* huge_reserve: reserves 1 TiB of anonymous memory with MAP_NORESERVE (as a
   sanitizer reserves its shadow) and 64 GiB more without access, opened a
   window at a time (as an allocator does); touches a few scattered pages
   over several events and reads them back, and leaves the rest untouched.
   Also a page only read (the kernel's zero page), a page written and then
   zeroed again, one dropped with MADV_DONTNEED, and a 256 GiB sparse file
   with two pages of data mapped privately. rr state, checkpoints and their
   restores must cost what was touched (and what the file holds), and a
   restore must reserve the space again (without MAP_NORESERVE the kernel
   refuses it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096ULL
#define RESERVE (1ULL << 40)
#define GUARDED (64ULL << 30)
#define SPARSE (256ULL << 30)

static const uint64_t spots[] = {
    0, PAGE + 17, (1ULL << 30) + 123, (5ULL << 30) + 2 * PAGE, (RESERVE / 2) + 999,
    (RESERVE / 3) & ~(PAGE - 1), RESERVE - PAGE, RESERVE - 1,
};
#define NSPOTS (sizeof spots / sizeof spots[0])

int main(void)
{
    unsigned char *r = mmap(NULL, RESERVE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(r != MAP_FAILED);
    unsigned char *g = mmap(NULL, GUARDED, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(g != MAP_FAILED);
    unsigned char *window = g + (3ULL << 30);
    CHECK(mprotect(window, 1 << 20, PROT_READ | PROT_WRITE) == 0);

    char dir[] = "/tmp/rrtest-reserve-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/sparse", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, SPARSE) == 0);
    char page[PAGE];
    memset(page, 'S', sizeof page);
    CHECK(pwrite(fd, page, sizeof page, SPARSE / 2) == PAGE);
    CHECK(pwrite(fd, page, 100, SPARSE - 100) == 100);  // the last page, partly
    CHECK(close(fd) == 0);
    // Mapped from a read-only descriptor: replay maps the trace's copy of
    // the file (one mapped from a descriptor open for writing would be
    // replayed from a memfd instead).
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    const unsigned char *f = mmap(NULL, SPARSE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(f != MAP_FAILED);
    CHECK(close(fd) == 0);

    for (int round = 0; round < 4; round++) {
        // What the earlier rounds wrote, read back after their events.
        uint64_t sum = 0;
        for (size_t i = 0; i < NSPOTS; i++)
            sum = sum * 31 + r[spots[i]];
        for (size_t i = 0; i < NSPOTS; i++)
            r[spots[i]] = (unsigned char)(round * 16 + i + 1);
        window[round * PAGE + 5] = (unsigned char)(0xa0 + round);
        printf("round %d: read back %llx, window %d\n", round, (unsigned long long)sum, window[(round ? round - 1 : 0) * PAGE + 5]);
        fflush(stdout);  // an event between rounds
    }

    // Read but never written: the kernel maps its zero page there.
    volatile unsigned char only_read = r[(7ULL << 30) + 3];
    // Written, then zero again: populated, all zero.
    r[(9ULL << 30)] = 1;
    r[(9ULL << 30)] = 0;
    // Written, then dropped: untouched again.
    r[(11ULL << 30)] = 7;
    CHECK(madvise(r + (11ULL << 30), PAGE, MADV_DONTNEED) == 0);
    printf("read %d, zeroed %d, dropped %d\n", only_read, r[9ULL << 30], r[11ULL << 30]);
    printf("file: %c %d %c\n", f[SPARSE / 2 + 5], f[SPARSE / 4], f[SPARSE - 1]);
    fflush(stdout);

    uint64_t sum = 0;
    for (size_t i = 0; i < NSPOTS; i++)
        sum = sum * 31 + r[spots[i]];
    printf("final %llx\n", (unsigned long long)sum);
    CHECK(munmap(r, RESERVE) == 0);
    CHECK(munmap(g, GUARDED) == 0);
    CHECK(munmap((void *)f, SPARSE) == 0);
    CHECK(unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
