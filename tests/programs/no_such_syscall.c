/* no_such_syscall: numbers that are no syscall get ENOSYS and change nothing.
   Programs probe for syscalls this way; the kernel reads only the low 32
   bits of the number, as a signed int. Prints each result and errno. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void probe(const char* what, long nr)
{
    errno = 0;
    long r = syscall(nr, 1, 2, 3, 4, 5, 6);
    int e = errno;
    printf("%s: result %ld, %s\n", what, r, e == ENOSYS ? "ENOSYS" : strerror(e));
}

int main(void)
{
    probe("syscall(-1)", -1);
    probe("syscall(-10)", -10);
    probe("syscall(400), in the gap of the 64-bit table", 400);
    probe("syscall(600), above the table", 600);
    probe("syscall(1008), rr's check for itself", 1008);
    probe("syscall(9999)", 9999);
    probe("syscall(0xffffffff)", 0xffffffffL);
    /* The calls did not touch the registers a program keeps across them. */
    long before = syscall(SYS_getpid);
    probe("syscall(-1) again", -1);
    printf("getpid unchanged: %s\n", syscall(SYS_getpid) == before ? "yes" : "no");
    return 0;
}
