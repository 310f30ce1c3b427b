/* inotify_basic: inotify watch on a temp dir; create/write/close/rename/delete a file and print decoded event masks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)

static void print_mask(uint32_t m)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        { IN_ACCESS, "IN_ACCESS" }, { IN_MODIFY, "IN_MODIFY" }, { IN_ATTRIB, "IN_ATTRIB" },
        { IN_CLOSE_WRITE, "IN_CLOSE_WRITE" }, { IN_CLOSE_NOWRITE, "IN_CLOSE_NOWRITE" }, { IN_OPEN, "IN_OPEN" },
        { IN_MOVED_FROM, "IN_MOVED_FROM" }, { IN_MOVED_TO, "IN_MOVED_TO" }, { IN_CREATE, "IN_CREATE" },
        { IN_DELETE, "IN_DELETE" }, { IN_DELETE_SELF, "IN_DELETE_SELF" }, { IN_IGNORED, "IN_IGNORED" },
        { IN_ISDIR, "IN_ISDIR" },
    };
    int first = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (m & names[i].bit) {
            printf("%s%s", first ? "" : "|", names[i].name);
            first = 0;
        }
}

static int drain(int ifd, int wd)
{
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    for (;;) {
        struct pollfd pf = { .fd = ifd, .events = POLLIN };
        if (poll(&pf, 1, 0) <= 0)
            break;
        ssize_t n = read(ifd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            printf("  event: ");
            print_mask(ev->mask);
            printf(" name=%s wd-matches=%s\n", ev->len ? ev->name : "(none)", ev->wd == wd ? "yes" : "no");
            count++;
            p += sizeof *ev + ev->len;
        }
    }
    return count;
}

int main(void)
{
    char dir[] = "/tmp/rrtest-inotify-XXXXXX", f1[256], f2[256];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(f1, sizeof f1, "%s/created.txt", dir);
    snprintf(f2, sizeof f2, "%s/renamed.txt", dir);
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(ifd >= 0);
    int wd = inotify_add_watch(ifd, dir, IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                                             IN_DELETE | IN_DELETE_SELF);
    CHECK(wd >= 0);

    printf("create:\n");
    int fd = open(f1, O_CREAT | O_WRONLY, 0644);
    CHECK(fd >= 0);
    drain(ifd, wd);
    printf("write:\n");
    CHECK(write(fd, "hello", 5) == 5);
    drain(ifd, wd);
    printf("close:\n");
    close(fd);
    drain(ifd, wd);
    printf("rename:\n");
    CHECK(rename(f1, f2) == 0);
    drain(ifd, wd);
    printf("unlink:\n");
    CHECK(unlink(f2) == 0);
    drain(ifd, wd);
    printf("rmdir:\n");
    CHECK(rmdir(dir) == 0);
    drain(ifd, wd);
    char tmp[64];
    printf("read with no events: %s\n", read(ifd, tmp, sizeof tmp) < 0 ? "EAGAIN" : "unexpected");
    close(ifd);
    return 0;
}
