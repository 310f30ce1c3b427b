/* syslog_quota_perf: the kernel log (syslog), disk quotas (quotactl),
 * _sysctl (gone since 5.5), I/O port permissions (ioperm, iopl) and a
 * software performance counter (perf_event_open, its ioctls, read). The
 * log's bytes, the counter's values and which calls the user may make
 * differ between machines and runs (nondet=1): a replay must print what
 * its recording printed, including a checksum of the log bytes read and
 * the guard bytes around each buffer. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "show.h"

static void kernel_log(void)
{
    long size = syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
    result("syslog SIZE_BUFFER", size);
    if (size <= 0)
        return;
    size_t len = 4096;
    char *buf = malloc(len + 16);
    memset(buf, '#', len + 16);
    long n = syscall(SYS_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, buf, (int)len);
    result("syslog READ_ALL", n);
    uint64_t sum = 1469598103934665603ull;
    for (long i = 0; i < n; ++i)
        sum = (sum ^ (unsigned char)buf[i]) * 1099511628211ull;
    printf("  fnv of the bytes read: %016llx, guard after them: %c\n", (unsigned long long)sum,
           n >= 0 ? buf[n] : '?');
    free(buf);
}

static void quotas(void)
{
    struct dqblk dq;
    memset(&dq, 0xa5, sizeof dq);
    int r = quotactl(QCMD(Q_GETQUOTA, USRQUOTA), "/dev/no-such-device", getuid(), (caddr_t)&dq);
    result("quotactl Q_GETQUOTA on no device", r);
    uint32_t fmt = 0xa5a5a5a5;
    r = quotactl(QCMD(Q_GETFMT, USRQUOTA), "/", 0, (caddr_t)&fmt);
    result("quotactl Q_GETFMT on /", r);
    printf("  fmt %08x\n", fmt);
    r = quotactl(0x12345678, "/", 0, (caddr_t)&dq);
    printf("quotactl unknown command: %s\n", r < 0 ? "refused" : "accepted");
}

struct sysctl_args {
    int *name;
    int nlen;
    void *oldval;
    size_t *oldlenp;
    void *newval;
    size_t newlen;
};

static void old_sysctl(void)
{
    int name[2] = {1 /* CTL_KERN */, 33 /* KERN_RTSIGMAX */};
    int value = -1;
    size_t len = sizeof value;
    struct sysctl_args args = {name, 2, &value, &len, NULL, 0};
    long r = syscall(SYS__sysctl, &args);
    printf("_sysctl: %s\n", r < 0 && errno == ENOSYS ? "ENOSYS" : "answered");
}

static void io_ports(void)
{
    /* Asking for no change works for anyone; granting needs CAP_SYS_RAWIO. */
    result("ioperm off", ioperm(0x80, 1, 0));
    result("iopl 0", iopl(0));
}

static void perf_counter(void)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CONTEXT_SWITCHES;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        printf("perf_event_open: errno %d\n", errno);
        return;
    }
    printf("perf_event_open: a descriptor\n");
    uint64_t id[2];
    memset(id, 0xa5, sizeof id);
    result("PERF_EVENT_IOC_ID", ioctl(fd, PERF_EVENT_IOC_ID, id));
    printf("  id %s, guard after it %016llx\n", id[0] != 0xa5a5a5a5a5a5a5a5ull ? "written" : "missing",
           (unsigned long long)id[1]);
    result("PERF_EVENT_IOC_RESET", ioctl(fd, PERF_EVENT_IOC_RESET, 0));
    result("PERF_EVENT_IOC_ENABLE", ioctl(fd, PERF_EVENT_IOC_ENABLE, 0));
    for (int i = 0; i < 3; ++i)
        syscall(SYS_sched_yield);
    result("PERF_EVENT_IOC_DISABLE", ioctl(fd, PERF_EVENT_IOC_DISABLE, 0));
    uint64_t count = 0;
    long n = read(fd, &count, sizeof count);
    printf("read: %ld bytes, count %llu\n", n, (unsigned long long)count);
    close(fd);
    /* A struct larger than the kernel knows, with a non-zero tail: E2BIG
     * and the kernel's size stored into attr.size. */
    struct {
        struct perf_event_attr attr;
        char tail[64];
    } big;
    memset(&big, 0, sizeof big);
    big.attr.size = sizeof big;
    big.attr.type = PERF_TYPE_SOFTWARE;
    big.tail[63] = 1;
    fd = syscall(SYS_perf_event_open, &big.attr, 0, -1, -1, 0);
    printf("perf_event_open too big: %s, size now %u\n", fd < 0 && errno == E2BIG ? "E2BIG" : "other",
           big.attr.size);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    kernel_log();
    quotas();
    old_sysctl();
    io_ports();
    perf_counter();
    printf("done\n");
    return 0;
}
