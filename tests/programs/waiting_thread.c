/* A thread waits for the whole run while the main thread computes in
 * rounds, each ending in a traced call (getppid), then releases it.
 * Arguments: the number of rounds (default 200), then how the thread waits:
 * "pipe" (default), in read() on a pipe, where the copying writer holds it
 * as replay does at the call's entry and copies every point (test
 * record_copy); "waitall", in recv(MSG_WAITALL) on a socketpair, which may
 * write what has come before it returns, so no point after the thread has
 * started is copied (tests record_copy and record_hybrid). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fds[2];
static int waitall;

static void* waiter(void* arg)
{
    (void)arg;
    char c = 0;
    ssize_t n = waitall ? recv(fds[0], &c, 1, MSG_WAITALL) : read(fds[0], &c, 1);
    return (void*)(intptr_t)(n == 1 ? c : '?');
}

int main(int argc, char** argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 200;
    waitall = argc > 2 && strcmp(argv[2], "waitall") == 0;
    if (waitall ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 : pipe(fds) != 0) return 1;
    pthread_t t;
    if (pthread_create(&t, 0, waiter, 0) != 0) return 1;
    uint64_t x = 88172645463325252ull, sum = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sum += x >> 60;
        }
        sum += syscall(SYS_getppid) > 0;
    }
    if (write(fds[1], "w", 1) != 1) return 1;
    void* got;
    pthread_join(t, &got);
    printf("sum %llu, the waiter read %c\n", (unsigned long long)sum, (int)(intptr_t)got);
    return 0;
}
