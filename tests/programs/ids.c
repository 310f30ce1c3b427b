/* ids: getpid/getppid/gettid/getuid/geteuid/getgid/getegid/getpgrp/getsid consistency with raw syscalls; prints only "ok"s. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *what, int ok) { printf("%-45s %s\n", what, ok ? "ok" : "FAIL"); }

int main(void)
{
    pid_t pid = getpid();
    report("getpid() == syscall(SYS_getpid)", pid == syscall(SYS_getpid));
    report("getpid() > 0", pid > 0);
    report("getppid() == syscall(SYS_getppid)", getppid() == syscall(SYS_getppid));
    report("getppid() != getpid()", getppid() != pid);
    report("gettid() == getpid() (single-threaded)", gettid() == pid);
    report("syscall(SYS_gettid) == getpid()", syscall(SYS_gettid) == pid);
    report("getuid() == syscall(SYS_getuid)", getuid() == (uid_t)syscall(SYS_getuid));
    report("geteuid() == syscall(SYS_geteuid)", geteuid() == (uid_t)syscall(SYS_geteuid));
    report("getgid() == syscall(SYS_getgid)", getgid() == (gid_t)syscall(SYS_getgid));
    report("getegid() == syscall(SYS_getegid)", getegid() == (gid_t)syscall(SYS_getegid));
    uid_t r, e, s;
    report("getresuid consistent with getuid/geteuid", getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid());
    report("getpgrp() == getpgid(0)", getpgrp() == getpgid(0));
    report("getsid(0) > 0", getsid(0) > 0);
    gid_t groups[256];
    report("getgroups >= 0", getgroups(256, groups) >= 0);
    int same = 1;
    for (int i = 0; i < 1000; i++)
        if (getpid() != pid)
            same = 0;
    report("getpid stable over 1000 calls", same);
    return 0;
}
