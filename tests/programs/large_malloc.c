/* large_malloc: malloc 64 MB (mmap-backed), touch every page and byte pattern, checksum, free. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const size_t sz = 64u << 20;
    unsigned char *p = malloc(sz);
    if (!p) {
        perror("malloc");
        return 1;
    }
    uint64_t *w = (uint64_t *)p;
    for (size_t i = 0; i < sz / 8; i++)
        w[i] = i;
    for (size_t i = 0; i < sz; i += 4096)
        p[i] = (unsigned char)(i >> 12);
    for (size_t i = 0; i < sz / 8; i++)
        w[i] = w[i] * 0x9E3779B97F4A7C15ull + i;
    uint64_t h = 0;
    for (size_t i = 0; i < sz / 8; i++)
        h ^= w[i] + (h << 6) + (h >> 2);
    printf("64MB touched, checksum: %016llx\n", (unsigned long long)h);
    free(p);
    printf("freed\n");
    return 0;
}
