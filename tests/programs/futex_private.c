/* futex_private: futex syscalls on a private word: WAKE with no waiters -> 0, WAIT with mismatched value -> EAGAIN, WAIT timeout -> ETIMEDOUT. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static const char *ename(int e)
{
    return e == EAGAIN ? "EAGAIN" : e == ETIMEDOUT ? "ETIMEDOUT" : e == EINVAL ? "EINVAL" : strerror(e);
}

int main(void)
{
    static uint32_t word = 7;
    long r = futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
    printf("FUTEX_WAKE_PRIVATE no waiters: %ld\n", r);
    r = futex(&word, FUTEX_WAKE, 10, NULL);
    printf("FUTEX_WAKE (shared) no waiters: %ld\n", r);

    errno = 0;
    r = futex(&word, FUTEX_WAIT_PRIVATE, 8, NULL);
    printf("FUTEX_WAIT_PRIVATE value mismatch: %ld %s\n", r, ename(errno));
    errno = 0;
    r = futex(&word, FUTEX_WAIT, 0, NULL);
    printf("FUTEX_WAIT (shared) value mismatch: %ld %s\n", r, ename(errno));

    struct timespec ts = { 0, 10 * 1000 * 1000 };
    errno = 0;
    r = futex(&word, FUTEX_WAIT_PRIVATE, 7, &ts);
    printf("FUTEX_WAIT_PRIVATE matching value, 10ms timeout: %ld %s\n", r, ename(errno));

    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 5 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    errno = 0;
    r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 7, &abs, NULL, FUTEX_BITSET_MATCH_ANY);
    printf("FUTEX_WAIT_BITSET absolute timeout: %ld %s\n", r, ename(errno));

    errno = 0;
    r = futex((uint32_t *)((char *)&word + 1), FUTEX_WAIT_PRIVATE, 7, NULL);
    printf("FUTEX_WAIT misaligned address: %ld %s\n", r, ename(errno));
    printf("word unchanged: %u\n", word);
    return 0;
}
