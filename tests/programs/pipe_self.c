/* pipe_self: pipe/pipe2 within one process - write then read, partial reads, nonblocking fill to capacity, EOF, EPIPE. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int p[2];
    char buf[4096];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "hello through a pipe", 20) == 20);
    ssize_t n = read(p[0], buf, 5);
    printf("partial read %zd: %.*s\n", n, (int)n, buf);
    n = read(p[0], buf, sizeof buf);
    printf("rest read %zd: %.*s\n", n, (int)n, buf);
    close(p[0]);
    close(p[1]);

    /* fill a nonblocking pipe to capacity, then drain it and checksum */
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    int sz = fcntl(p[1], F_GETPIPE_SZ);
    printf("F_GETPIPE_SZ > 0: %s\n", sz > 0 ? "yes" : "no");
    size_t written = 0;
    uint32_t wsum = 0, rsum = 0;
    unsigned char seq = 0;
    for (;;) {
        for (size_t i = 0; i < 1000; i++)
            buf[i] = (char)(seq + i);
        n = write(p[1], buf, 1000);
        if (n < 0) {
            printf("full pipe write: %s\n", errno == EAGAIN ? "EAGAIN" : "unexpected");
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            wsum = wsum * 31 + (unsigned char)buf[i];
        written += (size_t)n;
        seq = (unsigned char)(seq + n);
    }
    printf("wrote until full: 0 < written <= pipe size: %s\n", written > 0 && (int)written <= sz ? "yes" : "no");
    size_t got = 0;
    for (;;) {
        n = read(p[0], buf, 777);
        if (n < 0) {
            printf("drained pipe read: %s\n", errno == EAGAIN ? "EAGAIN" : "unexpected");
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            rsum = rsum * 31 + (unsigned char)buf[i];
        got += (size_t)n;
    }
    printf("read back all: %s checksum match: %s\n", got == written ? "yes" : "no",
           rsum == wsum ? "yes" : "no");

    close(p[1]);
    n = read(p[0], buf, 10);
    printf("read after writer closed: %zd\n", n);
    close(p[0]);

    /* EPIPE when the reader is gone */
    CHECK(pipe(p) == 0);
    signal(SIGPIPE, SIG_IGN);
    close(p[0]);
    errno = 0;
    n = write(p[1], "x", 1);
    printf("write with no reader: %s\n", n < 0 && errno == EPIPE ? "EPIPE" : "unexpected");
    close(p[1]);
    return 0;
}
