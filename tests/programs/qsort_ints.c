/* qsort_ints: qsort 100k deterministic LCG ints (and strings), verify order, print checksums and order statistics. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    enum { N = 100000 };
    int *v = malloc(N * sizeof *v);
    uint32_t x = 2024;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        v[i] = (int)(x >> 1) - (1 << 30);
    }
    qsort(v, N, sizeof *v, cmp_int);
    int sorted = 1;
    uint64_t h = 0;
    for (int i = 0; i < N; i++) {
        if (i && v[i - 1] > v[i])
            sorted = 0;
        h = h * 1000003u + (uint32_t)v[i];
    }
    printf("ints sorted: %s min=%d median=%d max=%d hash=%016llx\n", sorted ? "yes" : "no", v[0], v[N / 2],
           v[N - 1], (unsigned long long)h);
    int key = v[12345];
    int *found = bsearch(&key, v, N, sizeof *v, cmp_int);
    printf("bsearch finds element: %s\n", found && *found == key ? "yes" : "no");
    free(v);

    enum { M = 20000 };
    char **s = malloc(M * sizeof *s);
    char *pool = malloc(M * 12);
    for (int i = 0; i < M; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = pool + i * 12;
        for (int j = 0; j < 11; j++)
            s[i][j] = (char)('a' + ((x >> (j * 2)) + (uint32_t)j * 7) % 26);
        s[i][11] = 0;
    }
    qsort(s, M, sizeof *s, cmp_str);
    sorted = 1;
    h = 0;
    for (int i = 0; i < M; i++) {
        if (i && strcmp(s[i - 1], s[i]) > 0)
            sorted = 0;
        for (int j = 0; j < 11; j++)
            h = h * 31 + (unsigned char)s[i][j];
    }
    printf("strings sorted: %s first=%s last=%s hash=%016llx\n", sorted ? "yes" : "no", s[0], s[M - 1],
           (unsigned long long)h);
    free(pool);
    free(s);
    return 0;
}
