/* fanotify_watch: a fanotify group watching a scratch file; the program
 * writes the file and reads the events, each with a descriptor of the file
 * the kernel opened for the reader (its path read back through
 * /proc/self/fd), then the group stops watching (fanotify_mark remove). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

int main(void)
{
    char dir[] = "/tmp/rr-fanotify-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/watched", dir);
    int f = open(path, O_CREAT | O_WRONLY, 0600);
    close(f);
    int group = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
    if (group < 0) {
        printf("fanotify_init: errno %d\n", errno);
        unlink(path);
        rmdir(dir);
        return 0;
    }
    printf("fanotify_init: a descriptor\n");
    printf("fanotify_mark: %d\n", fanotify_mark(group, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, path));
    f = open(path, O_WRONLY);
    (void)!write(f, "changed\n", 8);
    close(f);
    char buf[4096];
    ssize_t n = read(group, buf, sizeof buf);
    printf("read: %s\n", n > 0 ? "events" : "nothing");
    /* The kernel may merge the two events into one: the union is shown. */
    unsigned long long mask = 0;
    int all_watched = 1;
    for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
        char link[64], target[PATH_MAX] = "";
        snprintf(link, sizeof link, "/proc/self/fd/%d", m->fd);
        ssize_t len = m->fd >= 0 ? readlink(link, target, sizeof target - 1) : -1;
        target[len > 0 ? len : 0] = 0;
        mask |= m->mask;
        all_watched &= strcmp(target, path) == 0;
        if (m->fd >= 0)
            close(m->fd);
    }
    printf("  events:%s%s, each names the watched file: %s\n", (mask & FAN_MODIFY) ? " modify" : "",
           (mask & FAN_CLOSE_WRITE) ? " close-write" : "", all_watched ? "yes" : "no");
    printf("fanotify_mark remove: %d\n", fanotify_mark(group, FAN_MARK_REMOVE, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, path));
    close(group);
    unlink(path);
    rmdir(dir);
    return 0;
}
