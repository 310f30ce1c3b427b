/* mqueue_sysfs: POSIX message queues (open, send, receive with priority,
   attributes, unlink) and sysfs's file system names. Prints what came back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    char name[64];
    snprintf(name, sizeof name, "/rrtest-mq-%d", (int)getpid());
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
    if (q == (mqd_t)-1) {
        perror("mq_open");
        return 1;
    }
    mq_send(q, "low", 4, 1);
    mq_send(q, "high", 5, 9);
    struct mq_attr now;
    mq_getattr(q, &now);
    printf("queued %ld of at most %ld, size %ld\n", now.mq_curmsgs, now.mq_maxmsg, now.mq_msgsize);
    for (int i = 0; i < 2; ++i) {
        char buf[64];
        unsigned prio = 0;
        ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
        printf("received %zd bytes \"%s\" with priority %u\n", n, n > 0 ? buf : "", prio);
    }
    struct timespec past = {0, 0};
    char buf[64];
    printf("empty queue, timed receive: %s\n", mq_timedreceive(q, buf, sizeof buf, NULL, &past) < 0 ? "fails" : "FAIL");
    mq_close(q);
    printf("unlink: %d\n", mq_unlink(name));

    long count = syscall(SYS_sysfs, 3);
    printf("file system types: %s\n", count > 0 ? "some" : "none");
    char fs[256] = "";
    long r = syscall(SYS_sysfs, 2, 0L, fs);
    long index = syscall(SYS_sysfs, 1, fs);
    printf("type 0 is named (%ld), and its name gives index %ld\n", r, index);
    return 0;
}
