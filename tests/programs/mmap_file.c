/* mmap_file: maps a temp file MAP_PRIVATE and MAP_SHARED, reads/modifies, then changes the file on disk and deletes it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    char dir[] = "/tmp/rrtest-mmapfile-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/data.bin", dir);

    const size_t len = 5 * 4096 + 100; /* last page partially backed */
    unsigned char *src = malloc(len);
    for (size_t i = 0; i < len; i++)
        src[i] = (unsigned char)(i * 37 + 11);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, src, len) == (ssize_t)len);
    printf("file written: %zu bytes sum=%08x\n", len, sum(src, len));

    unsigned char *priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(priv != MAP_FAILED);
    unsigned char *shr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(shr != MAP_FAILED);
    unsigned char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096); /* offset mapping */
    CHECK(ro != MAP_FAILED);
    printf("private map sum=%08x shared map sum=%08x\n", sum(priv, len), sum(shr, len));
    printf("offset mapping matches file page 1: %s\n", memcmp(ro, src + 4096, 4096) == 0 ? "yes" : "no");
    printf("tail past EOF in last page is zero: %s\n", priv[len] == 0 && priv[len + 50] == 0 ? "yes" : "no");

    /* modify private mapping: file must not change */
    memset(priv, 'P', 100);
    unsigned char chk[100];
    CHECK(pread(fd, chk, 100, 0) == 100);
    printf("after private write, file unchanged: %s\n", memcmp(chk, src, 100) == 0 ? "yes" : "no");
    printf("shared map unaffected by private write: %s\n", shr[0] == src[0] ? "yes" : "no");

    /* modify shared mapping: file changes */
    memset(shr + 4096, 'S', 100);
    CHECK(msync(shr, len, MS_SYNC) == 0);
    CHECK(pread(fd, chk, 100, 4096) == 100);
    printf("after shared write+msync, file changed: %s\n", chk[0] == 'S' && chk[99] == 'S' ? "yes" : "no");
    printf("read-only offset map sees shared write: %s\n", ro[0] == 'S' ? "yes" : "no");
    printf("private map (untouched page) sees shared write: %s\n", priv[4096] == 'S' ? "yes" : "no");

    /* write(2) to the file; shared map must see it */
    CHECK(pwrite(fd, "WRITTEN-BY-PWRITE", 17, 2 * 4096) == 17);
    printf("shared map sees pwrite: %s\n", memcmp(shr + 2 * 4096, "WRITTEN-BY-PWRITE", 17) == 0 ? "yes" : "no");
    printf("private map sum=%08x shared map sum=%08x\n", sum(priv, len), sum(shr, len));

    /* now clobber the file on disk and delete it - replay must not depend on it */
    CHECK(munmap(ro, 4096) == 0);
    unsigned char *junk = malloc(len);
    memset(junk, 0xAB, len);
    CHECK(pwrite(fd, junk, len, 0) == (ssize_t)len);
    CHECK(fsync(fd) == 0);
    printf("after overwrite: shared map page 3 is 0xAB: %s\n", shr[3 * 4096] == 0xAB ? "yes" : "no");
    printf("after overwrite: private map COWed page 0 kept 'P': %s\n", priv[0] == 'P' ? "yes" : "no");
    CHECK(close(fd) == 0);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0);
    /* mappings stay valid after unlink */
    printf("after unlink: private sum=%08x shared sum=%08x\n", sum(priv, len), sum(shr, len));
    shr[0] = 1;
    CHECK(munmap(priv, len) == 0);
    CHECK(munmap(shr, len) == 0);
    free(src);
    free(junk);
    printf("done\n");
    return 0;
}
