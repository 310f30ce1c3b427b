/* adjacent_mremap: two mmaps of one file side by side, with consecutive
   offsets, become one mapping (the kernel merges them), which mremap then
   grows, moves and shrinks as a whole. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096

int main(void)
{
    char dir[] = "/tmp/rrtest-adjacent-XXXXXX";
    char path[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/pages", dir);
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    CHECK(fd >= 0);
    for (int i = 0; i < 8; i++) {
        char page[PAGE];
        memset(page, 'a' + i, sizeof page);
        CHECK(write(fd, page, sizeof page) == PAGE);
    }
    CHECK(close(fd) == 0);
    /* Read-only from here: replay maps it from its copy in the trace. */
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);

    char *a = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(a != MAP_FAILED);
    CHECK(munmap(a + 2 * PAGE, 2 * PAGE) == 0);
    char *b = mmap(a + 2 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PAGE);
    CHECK(b == a + 2 * PAGE);
    char *grown = mremap(a, 4 * PAGE, 6 * PAGE, MREMAP_MAYMOVE);
    printf("mremap of both grew them: %s\n", grown == MAP_FAILED ? strerror(errno) : "yes");
    CHECK(grown != MAP_FAILED);
    for (int i = 0; i < 6; i++) printf("page %d: %c\n", i, grown[i * PAGE]);
    char *shrunk = mremap(grown + PAGE, 4 * PAGE, PAGE, 0);
    printf("shrinking from the middle: %s\n", shrunk == MAP_FAILED ? strerror(errno) : "ok");
    CHECK(munmap(grown, 6 * PAGE) == 0);

    /* The same with a shared mapping of a file open for writing. */
    CHECK(close(fd) == 0);
    fd = open(path, O_RDWR);
    CHECK(fd >= 0);
    char *s = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(s != MAP_FAILED);
    CHECK(munmap(s + PAGE, PAGE) == 0);
    CHECK(mmap(s + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PAGE) == s + PAGE);
    s[PAGE] = 'Z';
    char *moved = mremap(s, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE);
    printf("mremap of two shared mappings: %s\n", moved == MAP_FAILED ? strerror(errno) : "yes");
    CHECK(moved != MAP_FAILED);
    printf("pages: %c %c %c\n", moved[0], moved[PAGE], moved[2 * PAGE]);
    char c;
    CHECK(pread(fd, &c, 1, PAGE) == 1);
    printf("the file holds the write: %c\n", c);

    CHECK(munmap(moved, 3 * PAGE) == 0);
    CHECK(close(fd) == 0 && unlink(path) == 0 && rmdir(dir) == 0);
    return 0;
}
