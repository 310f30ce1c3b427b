/* nanosleep_basic: nanosleep 10ms, clock_nanosleep relative and absolute, usleep; checks elapsed >= requested. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(void)
{
    int64_t a = now_ns();
    struct timespec req = { 0, 10 * 1000 * 1000 }, rem = { 99, 99 };
    int r = nanosleep(&req, &rem);
    int64_t b = now_ns();
    printf("nanosleep 10ms: ret=%d elapsed>=10ms: %s\n", r, b - a >= 10000000 ? "yes" : "no");

    a = now_ns();
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    b = now_ns();
    printf("clock_nanosleep relative 10ms: ret=%d elapsed>=10ms: %s\n", r, b - a >= 10000000 ? "yes" : "no");

    struct timespec target;
    clock_gettime(CLOCK_MONOTONIC, &target);
    a = (int64_t)target.tv_sec * 1000000000 + target.tv_nsec;
    target.tv_nsec += 10 * 1000 * 1000;
    if (target.tv_nsec >= 1000000000) {
        target.tv_sec++;
        target.tv_nsec -= 1000000000;
    }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, NULL);
    b = now_ns();
    printf("clock_nanosleep absolute +10ms: ret=%d reached target: %s\n", r,
           b >= a + 10000000 ? "yes" : "no");

    a = now_ns();
    r = usleep(5000);
    b = now_ns();
    printf("usleep 5ms: ret=%d elapsed>=5ms: %s\n", r, b - a >= 5000000 ? "yes" : "no");

    req.tv_nsec = 0;
    r = nanosleep(&req, NULL);
    printf("nanosleep 0: ret=%d\n", r);
    req.tv_nsec = 2000000000L;
    r = nanosleep(&req, NULL);
    printf("nanosleep invalid nsec: ret=%d\n", r);
    return 0;
}
