/* outputs_on_failure: syscalls that store into the program's memory when
   they fail or get no buffer: waitid zeroes six siginfo fields on EBADF;
   getsockname and getpeername store the address's length without a buffer
   to put it in. The program prints the bytes it finds. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int main(void)
{
    siginfo_t info;
    memset(&info, 'a', sizeof info);
    errno = 0;
    int r = waitid(P_PIDFD, 1000, &info, WEXITED);
    const unsigned char* b = (const unsigned char*)&info;
    int zeroed = 0, kept = 0;
    for (size_t i = 0; i < sizeof info; i++) {
        if (b[i] == 0) zeroed++;
        if (b[i] == 'a') kept++;
    }
    printf("waitid on a bad pidfd: ret=%d %s, %d bytes zeroed, %d untouched\n", r, strerror(errno), zeroed, kept);

    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t len = 0;
    r = getsockname(s, NULL, &len);
    printf("getsockname without a buffer: ret=%d, length %u\n", r, (unsigned)len);
    int pair[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
    len = 0;
    r = getpeername(pair[0], NULL, &len);
    printf("getpeername without a buffer: ret=%d, length %u\n", r, (unsigned)len);
    return 0;
}
