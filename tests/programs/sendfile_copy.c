/* sendfile_copy: sendfile and copy_file_range between temp files (and sendfile into a pipe), verifying checksums. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static uint32_t file_sum(int fd, off_t *size)
{
    unsigned char buf[8192];
    uint32_t h = 2166136261u;
    off_t total = 0, pos = 0;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, pos)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 16777619u;
        total += n;
        pos += n;
    }
    *size = total;
    return h;
}

int main(void)
{
    char dir[] = "/tmp/rrtest-sendfile-XXXXXX", a[256], b[256], c[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a, sizeof a, "%s/src", dir);
    snprintf(b, sizeof b, "%s/dst-sendfile", dir);
    snprintf(c, sizeof c, "%s/dst-cfr", dir);

    int src = open(a, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(src >= 0);
    const size_t len = 1000003;
    unsigned char *data = malloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i ^ (i >> 7) ^ (i >> 13));
    CHECK(write(src, data, len) == (ssize_t)len);
    off_t sz;
    uint32_t hs = file_sum(src, &sz);
    printf("source: %lld bytes sum %08x\n", (long long)sz, hs);

    int d1 = open(b, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(d1 >= 0);
    CHECK(lseek(src, 0, SEEK_SET) == 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = sendfile(d1, src, NULL, len - done);
        CHECK(n > 0);
        done += (size_t)n;
    }
    printf("sendfile (file offset) advanced src offset to end: %s\n", lseek(src, 0, SEEK_CUR) == (off_t)len ? "yes" : "no");
    uint32_t h1 = file_sum(d1, &sz);
    printf("sendfile copy: %lld bytes, sums match: %s\n", (long long)sz, h1 == hs ? "yes" : "no");
    off_t off = 500000;
    CHECK(ftruncate(d1, 0) == 0);
    CHECK(lseek(d1, 0, SEEK_SET) == 0);
    ssize_t n = sendfile(d1, src, &off, 100);
    printf("sendfile with explicit offset: copied %zd, offset now %lld\n", n, (long long)off);

    int d2 = open(c, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(d2 >= 0);
    loff_t in = 0, out = 0;
    done = 0;
    int cfr_ok = 1;
    while (done < len) {
        ssize_t m = copy_file_range(src, &in, d2, &out, len - done, 0);
        if (m <= 0) {
            cfr_ok = 0;
            printf("copy_file_range failed: %s\n", m < 0 ? strerror(errno) : "returned 0");
            break;
        }
        done += (size_t)m;
    }
    if (cfr_ok) {
        uint32_t h2 = file_sum(d2, &sz);
        printf("copy_file_range copy: %lld bytes, sums match: %s, offsets advanced: %s\n", (long long)sz,
               h2 == hs ? "yes" : "no", in == (loff_t)len && out == (loff_t)len ? "yes" : "no");
    }

    /* sendfile from file into a pipe */
    int p[2];
    CHECK(pipe(p) == 0);
    off = 0;
    n = sendfile(p[1], src, &off, 1000);
    unsigned char buf[1000];
    ssize_t r = read(p[0], buf, sizeof buf);
    printf("sendfile to pipe: %zd bytes, read back %zd, match: %s\n", n, r,
           r == 1000 && memcmp(buf, data, 1000) == 0 ? "yes" : "no");
    close(p[0]);
    close(p[1]);

    close(src);
    close(d1);
    close(d2);
    CHECK(unlink(a) == 0 && unlink(b) == 0 && unlink(c) == 0);
    CHECK(rmdir(dir) == 0);
    free(data);
    return 0;
}
