/* uname_sysinfo: uname (prints sysname only) and sysinfo (prints "ok" if totalram>0). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>

int main(void)
{
    struct utsname u;
    if (uname(&u) != 0) {
        perror("uname");
        return 1;
    }
    printf("sysname: %s\n", u.sysname);
    printf("machine is x86_64: %s\n", strcmp(u.machine, "x86_64") == 0 ? "yes" : "no");
    printf("release non-empty: %s\n", u.release[0] ? "yes" : "no");
    struct sysinfo si;
    if (sysinfo(&si) != 0) {
        perror("sysinfo");
        return 1;
    }
    printf("sysinfo totalram>0: %s\n", si.totalram > 0 ? "ok" : "FAIL");
    printf("sysinfo freeram<=totalram: %s\n", si.freeram <= si.totalram ? "ok" : "FAIL");
    printf("sysinfo procs>=1: %s\n", si.procs >= 1 ? "ok" : "FAIL");
    printf("get_nprocs>=1: %s\n", get_nprocs() >= 1 ? "ok" : "FAIL");
    return 0;
}
