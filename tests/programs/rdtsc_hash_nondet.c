/* rdtsc_hash_nondet: NONDET - prints a hash of rdtsc/rdtscp and clock_gettime/gettimeofday/time values; replay must reproduce it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static uint64_t h = 1469598103934665603ull;
static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h = (h ^ (v & 0xff)) * 1099511628211ull;
        v >>= 8;
    }
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdtscp(void)
{
    uint32_t lo, hi, aux;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
    return ((uint64_t)hi << 32) | lo;
}

int main(void)
{
    uint64_t ht = 0, hc = 0;
    for (int i = 0; i < 100; i++) {
        mix(rdtsc());
        mix(rdtscp());
    }
    ht = h;
    h = 1469598103934665603ull;
    clockid_t ids[] = { CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
                        CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID };
    for (int i = 0; i < 20; i++) {
        for (size_t j = 0; j < sizeof ids / sizeof ids[0]; j++) {
            struct timespec ts;
            clock_gettime(ids[j], &ts);
            mix((uint64_t)ts.tv_sec);
            mix((uint64_t)ts.tv_nsec);
        }
        struct timespec ts;
        syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
        mix((uint64_t)ts.tv_nsec);
        struct timeval tv;
        gettimeofday(&tv, NULL);
        mix((uint64_t)tv.tv_usec);
        mix((uint64_t)time(NULL));
    }
    hc = h;
    printf("rdtsc hash: %016llx\n", (unsigned long long)ht);
    printf("clock hash: %016llx\n", (unsigned long long)hc);
    return 0;
}
