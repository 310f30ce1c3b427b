/* simd_fp: floating point (libm) math, SSE2 intrinsics, AVX2 (if CPU has it) and glibc's vectorized memcpy/memset/memcmp/strlen/memchr on big buffers. */
#define _GNU_SOURCE
#include <emmintrin.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t fnv(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint32_t *v, size_t n)
{
    __m256i acc = _mm256_setzero_si256();
    for (size_t i = 0; i + 8 <= n; i += 8)
        acc = _mm256_add_epi64(acc, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(v + i))));
    for (size_t i = 0; i + 8 <= n; i += 8)
        acc = _mm256_add_epi64(acc, _mm256_cvtepu32_epi64(_mm_loadu_si128((const __m128i *)(v + i + 4))));
    uint64_t o[4];
    _mm256_storeu_si256((__m256i *)o, acc);
    return o[0] + o[1] + o[2] + o[3];
}

static uint64_t sum_scalar(const uint32_t *v, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            s += v[i + j];
    return s;
}

int main(void)
{
    /* libm / x87-free SSE double math */
    double s = 0, p = 1;
    for (int i = 1; i <= 100000; i++) {
        double x = i * 0.001;
        s += sin(x) * exp(-x * 0.01) + sqrt(x) / (1.0 + log1p(x));
        p *= 1.0 + 1e-6 * cos(x);
    }
    printf("double series: %.9f product: %.9f\n", s, p);
    float f = 0;
    for (int i = 1; i <= 100000; i++)
        f += 1.0f / (float)i;
    printf("float harmonic(100000): %.5f\n", (double)f);
    printf("fma(2,3,4)=%.1f hypot(3,4)=%.1f pow(2,0.5)=%.12f\n", fma(2, 3, 4), hypot(3, 4), pow(2, 0.5));

    /* SSE2 intrinsics: packed double dot product */
    double a[1024], b[1024];
    for (int i = 0; i < 1024; i++) {
        a[i] = i * 0.5;
        b[i] = 1024 - i;
    }
    __m128d acc = _mm_setzero_pd();
    for (int i = 0; i < 1024; i += 2)
        acc = _mm_add_pd(acc, _mm_mul_pd(_mm_loadu_pd(a + i), _mm_loadu_pd(b + i)));
    double t[2];
    _mm_storeu_pd(t, acc);
    printf("SSE2 dot product: %.1f\n", t[0] + t[1]);

    /* AVX2 integer sum, same answer as scalar whether or not the CPU has AVX2 */
    size_t n = 1 << 20;
    uint32_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)(i * 2654435761u);
    uint64_t ref = sum_scalar(v, n);
    __builtin_cpu_init();
    uint64_t got = __builtin_cpu_supports("avx2") ? sum_avx2(v, n) : ref;
    printf("vector sum: %llu (avx2/scalar agree: %s)\n", (unsigned long long)ref, got == ref ? "yes" : "no");
    free(v);

    /* big buffers through glibc's SIMD string functions */
    size_t big = 16u << 20;
    unsigned char *src = malloc(big + 64), *dst = malloc(big + 64);
    for (size_t i = 0; i < big; i++)
        src[i] = (unsigned char)(1 + (i * 7 + (i >> 9)) % 255); /* no zero bytes */
    src[big] = 0;
    printf("strlen(16MB) = %zu\n", strlen((char *)src));
    memcpy(dst + 3, src, big); /* misaligned destination */
    printf("memcpy misaligned: memcmp == 0: %s, checksum %08x\n", memcmp(dst + 3, src, big) == 0 ? "yes" : "no",
           fnv(dst + 3, big));
    memmove(dst + 1, dst + 3, big - 10); /* overlapping */
    printf("memmove overlap checksum %08x\n", fnv(dst + 1, big - 10));
    memset(dst, 0x42, big);
    dst[big - 5] = 0x43;
    unsigned char *hit = memchr(dst, 0x43, big);
    printf("memchr found at offset from end: %zu\n", hit ? (size_t)(dst + big - hit) : (size_t)0);
    dst[big / 2] = 0;
    printf("strlen after NUL at middle: %zu\n", strlen((char *)dst));
    printf("memcmp sign: %d\n", memcmp(src, dst, big) > 0 ? 1 : -1);
    free(src);
    free(dst);
    return 0;
}
