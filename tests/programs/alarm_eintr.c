/* alarm_eintr: alarm(1) interrupts a blocking pipe read when SA_RESTART is off -> read fails with EINTR. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void handler(int sig)
{
    (void)sig;
    got++;
}

int main(void)
{
    int p[2];
    if (pipe(p) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = 0; /* no SA_RESTART */
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return 1;
    alarm(1);
    char c;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    int e = errno;
    printf("read returned %zd errno=%s\n", n, e == EINTR ? "EINTR" : strerror(e));
    printf("handler ran %d time(s)\n", (int)got);
    /* the pipe still works afterwards */
    if (write(p[1], "z", 1) != 1 || read(p[0], &c, 1) != 1)
        return 1;
    printf("pipe usable after EINTR: %c\n", c);
    return 0;
}
