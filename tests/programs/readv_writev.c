/* readv_writev: writev/readv on a temp file and a pipe, plus preadv/pwritev and preadv2 with scattered buffers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    char dir[] = "/tmp/rrtest-iov-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);

    char big[5000];
    for (int i = 0; i < 5000; i++)
        big[i] = (char)('A' + i % 26);
    struct iovec w[4] = { { "first-", 6 }, { "", 0 }, { big, sizeof big }, { "-last\n", 6 } };
    ssize_t n = writev(fd, w, 4);
    printf("writev returned %zd\n", n);

    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    char a[3], b[10], c[4990], d[100];
    struct iovec r[4] = { { a, sizeof a }, { b, sizeof b }, { c, sizeof c }, { d, sizeof d } };
    memset(d, 0, sizeof d);
    n = readv(fd, r, 4);
    int dlen = (int)(n - 5003);
    printf("readv returned %zd: a=%.3s b=%.10s c[0..4]=%.5s d(len %d)=%.*s\n", n, a, b, c, dlen,
           dlen > 0 ? dlen - 1 : 0, d);

    struct iovec pw[2] = { { "XX", 2 }, { "YYY", 3 } };
    n = pwritev(fd, pw, 2, 100);
    printf("pwritev@100 returned %zd\n", n);
    char e[4], f[4];
    struct iovec pr[2] = { { e, 4 }, { f, 4 } };
    n = preadv(fd, pr, 2, 98);
    printf("preadv@98 returned %zd: %.4s|%.4s\n", n, e, f);
    n = preadv2(fd, pr, 2, 0, 0);
    printf("preadv2@0 returned %zd: %.4s|%.4s\n", n, e, f);
    n = preadv(fd, pr, 2, 5010);
    printf("preadv near EOF returned %zd\n", n);
    close(fd);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0);

    /* vectored I/O on a pipe */
    int p[2];
    CHECK(pipe(p) == 0);
    struct iovec pv[3] = { { "one ", 4 }, { "two ", 4 }, { "three", 5 } };
    n = writev(p[1], pv, 3);
    printf("pipe writev %zd\n", n);
    char x[6], y[20];
    memset(y, 0, sizeof y);
    struct iovec rv[2] = { { x, 6 }, { y, sizeof y } };
    n = readv(p[0], rv, 2);
    printf("pipe readv %zd: [%.6s][%s]\n", n, x, y);
    close(p[0]);
    close(p[1]);
    return 0;
}
