/* splice_stdout: moves bytes to stdout with the syscalls whose data never
 * passes through the program's memory (splice from a pipe and from a file,
 * tee, sendfile), and vmsplice, so that `rr replay -a` must echo bytes the
 * recorder captured itself. stdout must be a pipe (the test harness's) for
 * tee and vmsplice; otherwise they report that and the rest still runs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static void say(const char *s) { CHECK(write(1, s, strlen(s)) == (ssize_t)strlen(s)); }

/* Moves the `len` bytes the pipe holds to stdout with splice, `chunk` at
 * most at a time; every call finds bytes waiting. */
static void splice_all(int from, size_t len, size_t chunk)
{
    while (len > 0) {
        ssize_t n = splice(from, NULL, 1, NULL, chunk, 0);
        CHECK(n > 0);
        len -= (size_t)n;
    }
}

int main(void)
{
    struct stat st;
    CHECK(fstat(1, &st) == 0);
    int out_is_pipe = S_ISFIFO(st.st_mode);

    /* splice from a pipe, asking for more than it holds (a short transfer),
     * then for less (several calls). */
    int p[2];
    CHECK(pipe(p) == 0);
    char line[128];
    for (int half = 0; half < 2; half++) {
        size_t total = 0;
        for (int i = 100 * half; i < 100 * (half + 1); i++) {
            int n = snprintf(line, sizeof line, "spliced line %03d from a pipe\n", i);
            CHECK(write(p[1], line, n) == n);
            total += (size_t)n;
        }
        splice_all(p[0], total, half == 0 ? 1 << 20 : 100);
    }
    say("-- end of spliced pipe data\n");

    /* tee copies the pipe's bytes to stdout and leaves them in the pipe. */
    const char *teed = "teed bytes, still in the pipe afterwards\n";
    CHECK(write(p[1], teed, strlen(teed)) == (ssize_t)strlen(teed));
    ssize_t t = tee(p[0], 1, 4096, 0);
    if (!out_is_pipe) {
        printf("tee: stdout is not a pipe (%s)\n", t < 0 ? strerror(errno) : "no error?");
        fflush(stdout);
    } else {
        CHECK(t == (ssize_t)strlen(teed));
    }
    char back[128];
    ssize_t r = read(p[0], back, sizeof back);
    CHECK(r == (ssize_t)strlen(teed) && memcmp(back, teed, r) == 0);
    say("-- the pipe still held the teed bytes\n");

    /* splice and sendfile from a regular file, with and without an offset. */
    char dir[] = "/tmp/rrtest-splice-XXXXXX", path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/src", dir);
    int f = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(f >= 0);
    for (int i = 0; i < 100; i++) {
        int n = snprintf(line, sizeof line, "file line %03d\n", i);  /* 14 bytes */
        CHECK(write(f, line, n) == n);
    }
    loff_t off = 14 * 10;
    ssize_t n = splice(f, &off, 1, NULL, 14 * 5, 0);
    if (!out_is_pipe) {
        printf("splice from a file: stdout is not a pipe\n");
        fflush(stdout);
    } else {
        CHECK(n == 14 * 5 && off == 14 * 15);
        say("-- spliced lines 10..14 of the file by offset\n");
    }
    CHECK(lseek(f, 14 * 90, SEEK_SET) == 14 * 90);
    n = sendfile(1, f, NULL, 14 * 3);
    CHECK(n == 14 * 3 && lseek(f, 0, SEEK_CUR) == 14 * 93);
    say("-- sent lines 90..92 from the file position\n");
    off_t soff = 0;
    n = sendfile(1, f, &soff, 14 * 2);
    CHECK(n == 14 * 2 && soff == 14 * 2);
    say("-- sent lines 0..1 by offset\n");

    /* vmsplice: bytes from memory, like writev. The pipe holds the pages
     * themselves until the reader takes them, so the bytes must stay as they
     * are: not on the stack, which the calls below write over (the harness
     * once read the record run's stdout with those bytes changed). */
    static const char a[] = "vmspliced ", b[] = "from two iovecs\n";
    struct iovec iov[2] = {{(void *)a, strlen(a)}, {(void *)b, strlen(b)}};
    n = vmsplice(1, iov, 2, 0);
    if (!out_is_pipe) {
        printf("vmsplice: stdout is not a pipe\n");
        fflush(stdout);
    } else {
        /* A pipe whose reader lags takes part of it when its slots run out
         * (each splice above took one): the rest follows in more calls. */
        size_t total = strlen(a) + strlen(b);
        while (n > 0 && (size_t)n < total) {
            struct iovec rest[2];
            int k = 0;
            size_t skip = (size_t)n;
            for (int i = 0; i < 2; i++) {
                if (skip >= iov[i].iov_len) {
                    skip -= iov[i].iov_len;
                    continue;
                }
                rest[k].iov_base = (char *)iov[i].iov_base + skip;
                rest[k].iov_len = iov[i].iov_len - skip;
                skip = 0;
                k++;
            }
            ssize_t more = vmsplice(1, rest, k, 0);
            CHECK(more > 0);
            n += more;
        }
        CHECK(n == (ssize_t)total);
    }

    close(f);
    CHECK(unlink(path) == 0 && rmdir(dir) == 0);
    say("done\n");
    return 0;
}
