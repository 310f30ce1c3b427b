/* file_io: file syscalls in a mkdtemp dir: open/write/read/lseek/pread/pwrite/ftruncate/fsync/rename/unlink/rmdir. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static uint32_t sum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int main(void)
{
    char dir[] = "/tmp/rrtest-fileio-XXXXXX";
    char a[256], b[256];
    static unsigned char data[100000], back[100000];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(a, sizeof a, "%s/a.dat", dir);
    snprintf(b, sizeof b, "%s/b.dat", dir);

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7 + (i >> 8));

    int fd = open(a, O_CREAT | O_EXCL | O_RDWR, 0644);
    CHECK(fd >= 0);
    /* write in a few chunks */
    size_t off = 0;
    while (off < sizeof data) {
        size_t chunk = sizeof data - off > 30000 ? 30000 : sizeof data - off;
        ssize_t w = write(fd, data + off, chunk);
        CHECK(w > 0);
        off += (size_t)w;
    }
    printf("wrote %zu bytes sum=%08x\n", off, sum(data, sizeof data));
    CHECK(fsync(fd) == 0);
    CHECK(fdatasync(fd) == 0);

    off_t pos = lseek(fd, 0, SEEK_CUR);
    printf("lseek SEEK_CUR=%lld\n", (long long)pos);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t r = read(fd, back, sizeof back);
    printf("read %zd bytes sum=%08x equal=%s\n", r, sum(back, (size_t)r),
           memcmp(back, data, sizeof data) == 0 ? "yes" : "no");
    r = read(fd, back, 10);
    printf("read at EOF returned %zd\n", r);

    char small[16];
    r = pread(fd, small, sizeof small, 5000);
    printf("pread 16@5000 ok=%s\n", r == 16 && memcmp(small, data + 5000, 16) == 0 ? "yes" : "no");
    CHECK(pwrite(fd, "PWRITE-MARKER", 13, 1000) == 13);
    printf("after pwrite lseek SEEK_CUR=%lld (unchanged)\n", (long long)lseek(fd, 0, SEEK_CUR));
    r = pread(fd, small, 13, 1000);
    printf("pread back: %.13s\n", small);

    printf("lseek SEEK_END=%lld\n", (long long)lseek(fd, 0, SEEK_END));
    CHECK(lseek(fd, -100, SEEK_END) == (off_t)sizeof data - 100);
    CHECK(ftruncate(fd, 4096) == 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("after ftruncate(4096) size=%lld\n", (long long)st.st_size);
    CHECK(ftruncate(fd, 8192) == 0);
    r = pread(fd, back, 8192, 0);
    int zeros = 1;
    for (int i = 4096; i < 8192; i++)
        if (back[i] != 0)
            zeros = 0;
    printf("extended to 8192: read %zd, tail zero=%s sum=%08x\n", r, zeros ? "yes" : "no",
           sum(back, 8192));
    CHECK(close(fd) == 0);

    CHECK(rename(a, b) == 0);
    printf("after rename: old exists=%s new exists=%s\n", access(a, F_OK) == 0 ? "yes" : "no",
           access(b, F_OK) == 0 ? "yes" : "no");

    fd = open(b, O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK(write(fd, "tail\n", 5) == 5);
    CHECK(fstat(fd, &st) == 0);
    printf("after O_APPEND write size=%lld\n", (long long)st.st_size);
    CHECK(close(fd) == 0);

    fd = open(a, O_RDONLY);
    printf("open of renamed-away path: %s\n", fd < 0 && errno == ENOENT ? "ENOENT" : "unexpected");

    CHECK(unlink(b) == 0);
    printf("rmdir ok=%s\n", rmdir(dir) == 0 ? "yes" : "no");
    return 0;
}
