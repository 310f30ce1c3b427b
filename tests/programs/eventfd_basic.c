/* eventfd_basic: eventfd counter semantics (accumulate, read resets, EFD_SEMAPHORE, nonblocking EAGAIN, poll). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int fd = eventfd(5, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK(fd >= 0);
    uint64_t v = 3;
    CHECK(write(fd, &v, 8) == 8);
    v = 10;
    CHECK(write(fd, &v, 8) == 8);
    v = 0;
    CHECK(read(fd, &v, 8) == 8);
    printf("counter after init 5 + 3 + 10: %llu\n", (unsigned long long)v);
    errno = 0;
    printf("read when zero: %s\n", read(fd, &v, 8) < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected");
    struct pollfd pf = { .fd = fd, .events = POLLIN };
    printf("poll when zero: %d\n", poll(&pf, 1, 0));
    CHECK(eventfd_write(fd, 2) == 0);
    printf("poll after eventfd_write: %d\n", poll(&pf, 1, 0));
    eventfd_t ev;
    CHECK(eventfd_read(fd, &ev) == 0);
    printf("eventfd_read: %llu\n", (unsigned long long)ev);
    errno = 0;
    printf("short read (4 bytes): %s\n", read(fd, &v, 4) < 0 && errno == EINVAL ? "EINVAL" : "unexpected");
    close(fd);

    fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    CHECK(fd >= 0);
    int reads = 0;
    while (read(fd, &v, 8) == 8) {
        printf("semaphore read %d -> %llu\n", ++reads, (unsigned long long)v);
    }
    printf("semaphore reads total: %d\n", reads);
    close(fd);

    /* blocking eventfd with value already set doesn't block */
    fd = eventfd(1, 0);
    CHECK(read(fd, &v, 8) == 8);
    printf("blocking eventfd read: %llu\n", (unsigned long long)v);
    close(fd);
    return 0;
}
