/* dup_fcntl: dup/dup2/dup3/fcntl(F_DUPFD, F_DUPFD_CLOEXEC, F_GETFL, F_SETFL, F_GETFD, F_SETFD) on a pipe. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    int p[2];
    char buf[64];
    CHECK(pipe(p) == 0);

    int d1 = dup(p[1]);
    CHECK(d1 >= 0);
    printf("dup returned new fd distinct: %s\n", d1 != p[1] ? "yes" : "no");
    CHECK(write(d1, "via-dup;", 8) == 8);

    int d2 = dup2(p[1], 50);
    printf("dup2 to 50 returned %d\n", d2);
    CHECK(write(50, "via-dup2;", 9) == 9);
    printf("dup2 same fd returns it: %s\n", dup2(50, 50) == 50 ? "yes" : "no");

    int d3 = dup3(p[1], 51, O_CLOEXEC);
    printf("dup3 to 51 returned %d\n", d3);
    printf("dup3 F_GETFD cloexec: %s\n", (fcntl(51, F_GETFD) & FD_CLOEXEC) ? "yes" : "no");
    errno = 0;
    printf("dup3 same fd: %s\n", dup3(51, 51, 0) < 0 && errno == EINVAL ? "EINVAL" : "unexpected");
    CHECK(write(51, "via-dup3;", 9) == 9);

    int f1 = fcntl(p[1], F_DUPFD, 60);
    printf("F_DUPFD >=60 returned %d\n", f1);
    int f2 = fcntl(p[1], F_DUPFD_CLOEXEC, 60);
    printf("F_DUPFD_CLOEXEC >=60 returned %d cloexec=%s\n", f2,
           (fcntl(f2, F_GETFD) & FD_CLOEXEC) ? "yes" : "no");
    CHECK(write(f1, "via-F_DUPFD;", 12) == 12);

    int fl = fcntl(p[0], F_GETFL);
    printf("read end F_GETFL accmode=%s nonblock=%s\n",
           (fl & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "other", (fl & O_NONBLOCK) ? "yes" : "no");
    fl = fcntl(p[1], F_GETFL);
    printf("write end F_GETFL accmode=%s\n", (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "other");

    printf("F_GETFD before: %d\n", fcntl(p[0], F_GETFD));
    CHECK(fcntl(p[0], F_SETFD, FD_CLOEXEC) == 0);
    printf("F_GETFD after F_SETFD: %d\n", fcntl(p[0], F_GETFD));

    ssize_t n = read(p[0], buf, sizeof buf);
    printf("read %zd: %.*s\n", n, (int)n, buf);

    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    printf("after F_SETFL nonblock=%s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    errno = 0;
    n = read(p[0], buf, sizeof buf);
    printf("read on empty nonblocking pipe: %s\n", n < 0 && errno == EAGAIN ? "EAGAIN" : "unexpected");

    CHECK(close(d1) == 0 && close(50) == 0 && close(51) == 0 && close(f1) == 0 && close(f2) == 0);
    errno = 0;
    printf("close already-closed fd: %s\n", close(50) < 0 && errno == EBADF ? "EBADF" : "unexpected");
    errno = 0;
    printf("fcntl on bad fd: %s\n", fcntl(999, F_GETFD) < 0 && errno == EBADF ? "EBADF" : "unexpected");
    close(p[1]);
    n = read(p[0], buf, sizeof buf);
    printf("read after all writers closed: %zd (EOF)\n", n);
    close(p[0]);
    return 0;
}
