/* ioctl_winsz: ioctl TIOCGWINSZ/FIONREAD/FIONBIO on stdout and a pipe; prints nothing tty-dependent. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
    struct winsize ws;
    int r = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws); /* succeeds on a tty, ENOTTY otherwise */
    (void)r;
    int p[2];
    if (pipe(p) != 0)
        return 1;
    errno = 0;
    r = ioctl(p[0], TIOCGWINSZ, &ws);
    printf("TIOCGWINSZ on a pipe: %s\n", r < 0 && errno == ENOTTY ? "ENOTTY" : "unexpected");
    if (write(p[1], "12345", 5) != 5)
        return 1;
    int avail = -1;
    ioctl(p[0], FIONREAD, &avail);
    printf("FIONREAD on pipe with 5 bytes: %d\n", avail);
    int on = 1;
    ioctl(p[0], FIONBIO, &on);
    printf("FIONBIO set O_NONBLOCK: %s\n", (fcntl(p[0], F_GETFL) & O_NONBLOCK) ? "yes" : "no");
    struct termios t;
    errno = 0;
    printf("tcgetattr on pipe: %s\n", tcgetattr(p[0], &t) < 0 && errno == ENOTTY ? "ENOTTY" : "unexpected");
    (void)isatty(STDOUT_FILENO);
    printf("done\n");
    return 0;
}
