/* rdtsc_basic: rdtsc and rdtscp via inline asm; checks values are non-decreasing, prints only "ok". */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtscp(uint32_t *aux)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
    uint64_t prev = rdtsc();
    int mono = 1, nonzero = prev != 0;
    uint32_t aux;
    for (int i = 0; i < 1000; i++) {
        uint64_t a = rdtsc();
        uint64_t b = rdtscp(&aux);
        if (a < prev || b < a)
            mono = 0;
        prev = b;
        if ((i % 100) == 0)
            getppid(); /* interleave some syscalls */
    }
    /* TSC must advance across a short sleep */
    uint64_t before = rdtsc();
    usleep(1000);
    uint64_t after = rdtscp(&aux);
    printf("rdtsc nonzero: %s\n", nonzero ? "ok" : "FAIL");
    printf("rdtsc/rdtscp monotonic: %s\n", mono ? "ok" : "FAIL");
    printf("tsc advanced across sleep: %s\n", after > before ? "ok" : "FAIL");
    printf("ok\n");
    return 0;
}
