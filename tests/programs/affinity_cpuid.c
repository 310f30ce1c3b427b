/* affinity_cpuid: the program widens its CPU affinity to every CPU, then
   reads its APIC id with cpuid many times. Replay runs on the CPU the
   recording was pinned to and executes cpuid for real, so the recording
   must have kept the program there: the ids replay prints must be the
   recorded ones. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    cpu_set_t all;
    memset(&all, 0xff, sizeof all);
    int r = sched_setaffinity(0, sizeof all, &all);
    printf("sched_setaffinity: %d\n", r);
    int seen[256] = {0};
    for (int i = 0; i < 2000; i++) {
        unsigned a, b, c, d;
        __cpuid(1, a, b, c, d);
        seen[(b >> 24) & 0xff]++;
        if (i % 100 == 0) sched_yield();
    }
    for (int id = 0; id < 256; id++)
        if (seen[id]) printf("APIC id %d seen %d times\n", id, seen[id]);
    return 0;
}
