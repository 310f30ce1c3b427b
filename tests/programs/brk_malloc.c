/* brk_malloc: sbrk/brk growth and shrink, then malloc/realloc/calloc/free of many sizes with checksums. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    /* Initialise stdio (its buffer comes from malloc) before touching the break,
       and do no malloc between growing and restoring the break: glibc's malloc
       owns the heap top and must find it where it left it. */
    printf("brk/sbrk test\n");
    fflush(stdout);
    char *base = sbrk(0);
    char *a = sbrk(100000);
    if (a == (void *)-1) {
        perror("sbrk");
        return 1;
    }
    int ret_old = a == base;
    int grew = (char *)sbrk(0) == base + 100000;
    uint32_t s = 0;
    for (int i = 0; i < 100000; i++)
        a[i] = (char)(i % 251);
    for (int i = 0; i < 100000; i++)
        s = s * 33 + (unsigned char)a[i];
    if (brk(base + 300000) != 0)
        return 1;
    base[299999] = 1;
    int brk_ok = (char *)sbrk(0) == base + 300000;
    if (brk(base) != 0)
        return 1;
    int restored = sbrk(0) == base;
    printf("sbrk grow returns old break: %s\n", ret_old ? "yes" : "no");
    printf("new break = old + 100000: %s\n", grew ? "yes" : "no");
    printf("brk region checksum: %08x\n", s);
    printf("brk(+300000) and touch last byte: %s\n", brk_ok ? "ok" : "FAIL");
    printf("brk back to start: %s\n", restored ? "yes" : "no");

    /* malloc many sizes, including mmap-threshold-crossing ones */
    enum { N = 2000 };
    static unsigned char *ptrs[N];
    static size_t sizes[N];
    uint32_t x = 1;
    uint64_t total = 0, cs = 0;
    for (int i = 0; i < N; i++) {
        x = x * 1664525u + 1013904223u;
        size_t sz = (i % 100 == 99) ? 200000 + (x % 300000) : 1 + (x % (i % 7 == 0 ? 8192 : 256));
        sizes[i] = sz;
        ptrs[i] = malloc(sz);
        if (!ptrs[i])
            return 1;
        memset(ptrs[i], (int)(i & 0xff), sz);
        total += sz;
    }
    for (int i = 0; i < N; i += 3) {
        free(ptrs[i]);
        ptrs[i] = NULL;
    }
    for (int i = 1; i < N; i += 3) {
        size_t ns = sizes[i] * 2 + 17;
        unsigned char *q = realloc(ptrs[i], ns);
        if (!q)
            return 1;
        memset(q + sizes[i], 0xcd, ns - sizes[i]);
        ptrs[i] = q;
        sizes[i] = ns;
    }
    for (int i = 0; i < N; i++) {
        if (!ptrs[i])
            continue;
        for (size_t j = 0; j < sizes[i]; j += 7)
            cs = cs * 1000003 + ptrs[i][j];
    }
    int *z = calloc(50000, sizeof(int));
    int allzero = 1;
    for (int i = 0; i < 50000; i++)
        if (z[i])
            allzero = 0;
    free(z);
    printf("malloc'd total bytes: %llu\n", (unsigned long long)total);
    printf("contents checksum: %016llx\n", (unsigned long long)cs);
    printf("calloc zeroed: %s\n", allzero ? "yes" : "no");
    for (int i = 0; i < N; i++)
        free(ptrs[i]);
    void *al = aligned_alloc(4096, 8192);
    printf("aligned_alloc 4096-aligned: %s\n", ((uintptr_t)al & 4095) == 0 ? "yes" : "no");
    free(al);
    return 0;
}
