/* mmap_anon: anonymous mmap (write pattern + checksum), mprotect, mremap grow/move, munmap partial, MAP_FIXED, madvise. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static uint32_t sum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(void)
{
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    printf("page size: %zu\n", pg);
    size_t len = 64 * pg;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    printf("fresh anon mapping zero-filled: %s\n", p[0] == 0 && p[len - 1] == 0 ? "yes" : "no");
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 13 + (i >> 12));
    printf("pattern checksum: %08x\n", sum(p, len));

    CHECK(mprotect(p, len, PROT_READ) == 0);
    printf("after mprotect(READ) checksum: %08x\n", sum(p, len));
    CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0);
    p[5] = 0xee;

    /* grow with mremap (may move) */
    unsigned char *q = mremap(p, len, 4 * len, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED);
    printf("mremap grow: old data preserved: %s, new tail zero: %s\n",
           q[5] == 0xee && q[len - 1] == (unsigned char)((len - 1) * 13 + ((len - 1) >> 12)) ? "yes" : "no",
           q[4 * len - 1] == 0 && q[len] == 0 ? "yes" : "no");
    memset(q + len, 0x5a, 3 * len);
    printf("grown checksum: %08x\n", sum(q, 4 * len));
    /* shrink in place */
    unsigned char *s = mremap(q, 4 * len, 2 * len, 0);
    printf("mremap shrink in place: %s\n", s == q ? "yes" : "no");

    /* unmap a hole in the middle and check access via mincore-free test (msync on a hole fails) */
    CHECK(munmap(s + pg, pg) == 0);
    errno = 0;
    int r = msync(s + pg, pg, MS_ASYNC);
    printf("msync on unmapped hole: %s\n", r < 0 && errno == ENOMEM ? "ENOMEM" : "unexpected");

    /* MAP_FIXED into the hole */
    unsigned char *f = mmap(s + pg, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED landed at requested address: %s\n", f == s + pg ? "yes" : "no");
    printf("MAP_FIXED page zero: %s\n", f[0] == 0 && f[pg - 1] == 0 ? "yes" : "no");
    memset(f, 0x11, pg);
    /* MAP_FIXED over existing data replaces it */
    unsigned char *g = mmap(s, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over existing data zeroes it: %s\n", g == s && s[5] == 0 ? "yes" : "no");
    printf("final checksum: %08x\n", sum(s, 2 * len));

    /* MAP_FIXED_NOREPLACE on an occupied range fails */
    void *h = mmap(s, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE on occupied range: %s\n", h == MAP_FAILED && errno == EEXIST ? "EEXIST" : "unexpected");

    /* madvise DONTNEED zeroes private anon pages */
    memset(s + 4 * pg, 0x77, pg);
    CHECK(madvise(s + 4 * pg, pg, MADV_DONTNEED) == 0);
    printf("MADV_DONTNEED page reads zero: %s\n", s[4 * pg] == 0 ? "yes" : "no");

    CHECK(munmap(s, 2 * len) == 0);
    /* a MAP_NORESERVE big reservation that we touch sparsely */
    unsigned char *big = mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED);
    uint32_t sp = 0;
    for (size_t off = 0; off < (1ul << 30); off += (1ul << 24)) {
        big[off] = (unsigned char)(off >> 24);
        sp += big[off];
    }
    printf("1GB NORESERVE sparse touch sum: %u\n", sp);
    CHECK(munmap(big, 1ul << 30) == 0);
    return 0;
}
