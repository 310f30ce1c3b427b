/* alarm_pause: alarm(1) with a SIGALRM handler while blocked in pause(). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void handler(int sig)
{
    (void)sig;
    got = 1;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return 1;
    unsigned prev = alarm(1);
    printf("previous alarm: %u\n", prev);
    errno = 0;
    int r = pause();
    printf("pause returned %d errno EINTR: %s\n", r, errno == EINTR ? "yes" : "no");
    if (got)
        printf("got SIGALRM\n");
    printf("alarm remaining after firing: %u\n", alarm(0));
    return 0;
}
