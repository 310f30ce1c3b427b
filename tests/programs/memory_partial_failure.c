/* memory_partial_failure: madvise and mprotect over a range with a hole
   in it fail with ENOMEM, yet keep what they did to the mapped part before
   the hole; madvise(MADV_DONTNEED) over a locked page fails with EINVAL
   after clearing the pages before it. The program prints what it finds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The protection /proc/self/maps shows for the mapping holding `addr`. */
static void print_prot(const char* what, void* addr)
{
    FILE* f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && lo <= (unsigned long)addr && (unsigned long)addr < hi)
            printf("%s: %s\n", what, perms);
    }
    if (f) fclose(f);
}

int main(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    char* p = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    munmap(p + pg, pg);
    memset(p, 'x', pg);
    memset(p + 2 * pg, 'y', pg);

    errno = 0;
    int r = madvise(p, 3 * pg, MADV_DONTNEED);
    printf("madvise over a hole: ret=%d %s\n", r, strerror(errno));
    printf("first page after it: %s\n", p[0] == 0 ? "zeroed" : "kept");

    memset(p, 'z', pg);
    errno = 0;
    r = mprotect(p, 3 * pg, PROT_READ);
    printf("mprotect over a hole: ret=%d %s\n", r, strerror(errno));
    print_prot("first page", p);
    print_prot("third page", p + 2 * pg);
    printf("first page still reads: %c\n", p[0]);

    char* q = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) return 1;
    q[0] = 'a';
    q[pg] = 'b';
    if (mlock(q + pg, pg) != 0) {
        printf("mlock failed: %s\n", strerror(errno));
        return 0;
    }
    errno = 0;
    r = madvise(q, 2 * pg, MADV_DONTNEED);
    printf("madvise over a locked page: ret=%d %s\n", r, strerror(errno));
    printf("pages after it: %s, %c\n", q[0] == 0 ? "zeroed" : "kept", q[pg]);
    return 0;
}
