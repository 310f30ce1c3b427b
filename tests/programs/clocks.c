/* clocks: clock_gettime on many clocks, clock_getres, gettimeofday, time(); prints only monotonicity/sanity checks. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

int main(void)
{
    static const struct { clockid_t id; const char *name; int mono; } clocks[] = {
        { CLOCK_REALTIME, "CLOCK_REALTIME", 0 },
        { CLOCK_MONOTONIC, "CLOCK_MONOTONIC", 1 },
        { CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW", 1 },
        { CLOCK_BOOTTIME, "CLOCK_BOOTTIME", 1 },
        { CLOCK_REALTIME_COARSE, "CLOCK_REALTIME_COARSE", 0 },
        { CLOCK_MONOTONIC_COARSE, "CLOCK_MONOTONIC_COARSE", 1 },
        { CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID", 1 },
        { CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID", 1 },
    };
    for (size_t c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
        struct timespec prev, cur, res;
        int ok = clock_gettime(clocks[c].id, &prev) == 0;
        int nondecr = 1;
        for (int i = 0; i < 1000 && ok; i++) {
            if (clock_gettime(clocks[c].id, &cur) != 0)
                ok = 0;
            if (ns(cur) < ns(prev))
                nondecr = 0;
            prev = cur;
        }
        /* also via the raw syscall (bypassing the vDSO) */
        struct timespec sys;
        int sysok = syscall(SYS_clock_gettime, clocks[c].id, &sys) == 0;
        if (clocks[c].mono && sysok && ns(sys) < ns(prev))
            nondecr = 0;
        int resok = clock_getres(clocks[c].id, &res) == 0 && ns(res) > 0;
        if (clocks[c].mono)
            printf("%-26s gettime ok: %s  syscall ok: %s  res>0: %s  monotonic non-decreasing: %s\n",
                   clocks[c].name, ok ? "yes" : "no", sysok ? "yes" : "no", resok ? "yes" : "no",
                   nondecr ? "yes" : "no");
        else
            printf("%-26s gettime ok: %s  syscall ok: %s  res>0: %s  after 2001: %s\n", clocks[c].name,
                   ok ? "yes" : "no", sysok ? "yes" : "no", resok ? "yes" : "no",
                   prev.tv_sec > 1000000000 ? "yes" : "no");
    }

    struct timeval tv, tv2;
    int ok = gettimeofday(&tv, NULL) == 0;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    ok = ok && gettimeofday(&tv2, NULL) == 0;
    time_t t = time(NULL);
    time_t t2;
    time(&t2);
    printf("gettimeofday ok: %s usec in range: %s\n", ok ? "yes" : "no",
           tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? "yes" : "no");
    printf("gettimeofday close to CLOCK_REALTIME (<2s): %s\n",
           llabs((long long)tv2.tv_sec - (long long)rt.tv_sec) < 2 ? "yes" : "no");
    printf("time() close to gettimeofday (<2s): %s  time(&t) consistent: %s\n",
           llabs((long long)t - (long long)tv2.tv_sec) < 2 ? "yes" : "no", t2 >= t ? "yes" : "no");
    printf("time syscall close to time(): %s\n",
           llabs((long long)syscall(SYS_time, NULL) - (long long)t) < 2 ? "yes" : "no");
    return 0;
}
