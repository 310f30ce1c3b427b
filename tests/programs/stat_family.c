/* stat_family: stat/fstat/lstat/fstatat/statx on files it created; prints sizes/modes/types only. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static const char *type(mode_t m)
{
    return S_ISREG(m) ? "reg" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "lnk" : S_ISFIFO(m) ? "fifo" : "other";
}

int main(void)
{
    char dir[] = "/tmp/rrtest-stat-XXXXXX";
    char f[256], l[256], p[256];
    struct stat st, st2;
    umask(022);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(f, sizeof f, "%s/file", dir);
    snprintf(l, sizeof l, "%s/link", dir);
    snprintf(p, sizeof p, "%s/fifo", dir);

    int fd = open(f, O_CREAT | O_RDWR, 0640);
    CHECK(fd >= 0);
    char buf[1234];
    memset(buf, 'x', sizeof buf);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    CHECK(symlink("file", l) == 0);
    CHECK(mkfifo(p, 0600) == 0);

    CHECK(stat(f, &st) == 0);
    printf("stat file: type=%s mode=%04o size=%lld nlink=%lu\n", type(st.st_mode),
           st.st_mode & 07777, (long long)st.st_size, (unsigned long)st.st_nlink);
    CHECK(fstat(fd, &st2) == 0);
    printf("fstat file: type=%s mode=%04o size=%lld same-ino-as-stat=%s\n", type(st2.st_mode),
           st2.st_mode & 07777, (long long)st2.st_size,
           st.st_ino == st2.st_ino && st.st_dev == st2.st_dev ? "yes" : "no");
    CHECK(lstat(l, &st) == 0);
    printf("lstat link: type=%s size=%lld\n", type(st.st_mode), (long long)st.st_size);
    CHECK(stat(l, &st) == 0);
    printf("stat link: type=%s size=%lld\n", type(st.st_mode), (long long)st.st_size);
    CHECK(stat(p, &st) == 0);
    printf("stat fifo: type=%s mode=%04o\n", type(st.st_mode), st.st_mode & 07777);
    CHECK(stat(dir, &st) == 0);
    printf("stat dir: type=%s mode=%04o\n", type(st.st_mode), st.st_mode & 07777);

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0);
    CHECK(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW) == 0);
    printf("fstatat link nofollow: type=%s\n", type(st.st_mode));
    CHECK(fstatat(dfd, "link", &st, 0) == 0);
    printf("fstatat link follow: type=%s size=%lld\n", type(st.st_mode), (long long)st.st_size);
    CHECK(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0);
    printf("fstatat AT_EMPTY_PATH: size=%lld\n", (long long)st.st_size);
    printf("stat missing: %s\n", stat("/tmp/definitely/not/here", &st) < 0 ? "error" : "unexpected");

    struct statx sx;
    memset(&sx, 0, sizeof sx);
    CHECK(statx(dfd, "file", 0, STATX_BASIC_STATS, &sx) == 0);
    printf("statx file: type=%s mode=%04o size=%llu has-size-mask=%s\n", type(sx.stx_mode),
           sx.stx_mode & 07777, (unsigned long long)sx.stx_size,
           (sx.stx_mask & STATX_SIZE) ? "yes" : "no");
    CHECK(statx(dfd, "link", AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE, &sx) == 0);
    printf("statx link nofollow: type=%s size=%llu\n", type(sx.stx_mode), (unsigned long long)sx.stx_size);

    CHECK(fchmod(fd, 0600) == 0);
    CHECK(fstat(fd, &st) == 0);
    printf("after fchmod 0600: mode=%04o\n", st.st_mode & 07777);

    close(fd);
    close(dfd);
    CHECK(unlink(f) == 0 && unlink(l) == 0 && unlink(p) == 0);
    CHECK(rmdir(dir) == 0);
    printf("cleanup ok\n");
    return 0;
}
