/* timerfd_basic: timerfd_create/settime (one-shot 10ms, blocking read; periodic, nonblocking) and timerfd_gettime. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    CHECK(fd >= 0);
    struct itimerspec its = { .it_value = { 0, 10 * 1000 * 1000 } };
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0);
    struct itimerspec cur;
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("armed: remaining <= 10ms: %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 10 * 1000 * 1000 ? "yes" : "no");
    uint64_t exp = 0;
    CHECK(read(fd, &exp, 8) == 8);
    printf("one-shot expirations >= 1: %s\n", exp >= 1 ? "yes" : "no");
    CHECK(timerfd_gettime(fd, &cur) == 0);
    printf("disarmed after expiry: %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "yes" : "no");
    close(fd);

    /* periodic, absolute start, nonblocking reads + poll */
    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(fd >= 0);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 5 * 1000 * 1000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    its.it_value = now;
    its.it_interval.tv_sec = 0;
    its.it_interval.tv_nsec = 5 * 1000 * 1000;
    CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == 0);
    uint64_t total = 0;
    int polls = 0;
    while (total < 3) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        CHECK(poll(&pf, 1, 1000) == 1);
        polls++;
        ssize_t n = read(fd, &exp, 8);
        if (n == 8)
            total += exp;
        else
            CHECK(errno == EAGAIN);
    }
    printf("periodic: total expirations >= 3: %s\n", total >= 3 ? "yes" : "no");
    its.it_value.tv_sec = its.it_value.tv_nsec = 0;
    CHECK(timerfd_settime(fd, 0, &its, NULL) == 0);
    errno = 0;
    (void)read(fd, &exp, 8);
    errno = 0;
    printf("after disarm read: %s\n", read(fd, &exp, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected");
    close(fd);
    return 0;
}
