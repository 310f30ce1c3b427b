/* symlinks: symlink/readlink/readlinkat/linkat on files in a temp dir, plus readlink of /proc/self/exe sanity. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

int main(void)
{
    char dir[] = "/tmp/rrtest-symlink-XXXXXX";
    char t[256], l1[256], l2[256], h[256], buf[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(t, sizeof t, "%s/target.txt", dir);
    snprintf(l1, sizeof l1, "%s/rel-link", dir);
    snprintf(l2, sizeof l2, "%s/dangling", dir);
    snprintf(h, sizeof h, "%s/hardlink", dir);

    int fd = open(t, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, "target-contents\n", 16) == 16);
    close(fd);

    CHECK(symlink("target.txt", l1) == 0);
    CHECK(symlink("no-such-file", l2) == 0);
    ssize_t n = readlink(l1, buf, sizeof buf);
    printf("readlink rel-link -> %.*s (len %zd)\n", (int)n, buf, n);
    n = readlink(l1, buf, 4);
    printf("readlink truncated to 4: %.*s (ret %zd)\n", (int)n, buf, n);

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    n = readlinkat(dfd, "dangling", buf, sizeof buf);
    printf("readlinkat dangling -> %.*s\n", (int)n, buf);
    errno = 0;
    n = readlink(t, buf, sizeof buf);
    printf("readlink on regular file: %s\n", n < 0 && errno == EINVAL ? "EINVAL" : "unexpected");
    fd = open(l2, O_RDONLY);
    printf("open dangling: %s\n", fd < 0 && errno == ENOENT ? "ENOENT" : "unexpected");
    fd = open(l1, O_RDONLY);
    CHECK(fd >= 0);
    n = read(fd, buf, sizeof buf);
    printf("read through link: %.*s", (int)n, buf);
    close(fd);

    CHECK(linkat(dfd, "target.txt", dfd, "hardlink", 0) == 0);
    struct stat st;
    CHECK(stat(h, &st) == 0);
    printf("hardlink nlink=%lu\n", (unsigned long)st.st_nlink);

    CHECK(symlinkat("rel-link", dfd, "chain") == 0);
    fd = openat(dfd, "chain", O_RDONLY);
    printf("open through 2-link chain: %s\n", fd >= 0 ? "ok" : "failed");
    if (fd >= 0)
        close(fd);
    fd = openat(dfd, "rel-link", O_RDONLY | O_NOFOLLOW);
    printf("O_NOFOLLOW on symlink: %s\n", fd < 0 && errno == ELOOP ? "ELOOP" : "unexpected");

    n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0)
        buf[n] = 0;
    printf("/proc/self/exe is absolute: %s\n", n > 1 && buf[0] == '/' ? "yes" : "no");

    CHECK(unlinkat(dfd, "chain", 0) == 0);
    CHECK(unlinkat(dfd, "hardlink", 0) == 0);
    CHECK(unlink(l1) == 0 && unlink(l2) == 0 && unlink(t) == 0);
    close(dfd);
    CHECK(rmdir(dir) == 0);
    printf("cleanup ok\n");
    return 0;
}
