/* sched_calls: sched_yield, sched_getaffinity/setaffinity, sched_getcpu, sched_getscheduler/getparam, getpriority. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
    int ok = 1;
    for (int i = 0; i < 100; i++)
        if (sched_yield() != 0)
            ok = 0;
    printf("sched_yield x100 all returned 0: %s\n", ok ? "yes" : "no");

    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        perror("sched_getaffinity");
        return 1;
    }
    int n = CPU_COUNT(&set);
    printf("sched_getaffinity: cpus >= 1: %s\n", n >= 1 ? "yes" : "no");
    /* pin to the first allowed cpu, then check getcpu agrees */
    int first = -1;
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &set)) {
            first = i;
            break;
        }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    int r = sched_setaffinity(0, sizeof one, &one);
    printf("sched_setaffinity to one cpu: %s\n", r == 0 ? "ok" : "failed");
    sched_yield();
    int cpu = sched_getcpu();
    printf("sched_getcpu matches pinned cpu: %s\n", r != 0 || cpu == first ? "yes" : "no");
    cpu_set_t chk;
    sched_getaffinity(0, sizeof chk, &chk);
    printf("affinity now has exactly 1 cpu: %s\n", r != 0 || CPU_COUNT(&chk) == 1 ? "yes" : "no");
    sched_setaffinity(0, sizeof set, &set);

    int pol = sched_getscheduler(0);
    printf("scheduler policy is SCHED_OTHER: %s\n", pol == SCHED_OTHER ? "yes" : "no");
    struct sched_param sp;
    printf("sched_getparam priority 0: %s\n", sched_getparam(0, &sp) == 0 && sp.sched_priority == 0 ? "yes" : "no");
    printf("priority range for SCHED_FIFO valid: %s\n",
           sched_get_priority_max(SCHED_FIFO) >= sched_get_priority_min(SCHED_FIFO) ? "yes" : "no");
    return 0;
}
