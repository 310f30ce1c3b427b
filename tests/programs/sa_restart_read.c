/* sa_restart_read: SA_RESTART handler (ITIMER_REAL 50ms) interrupts a blocking pipe read; the handler writes to the pipe and the read is restarted transparently. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static int p[2];
static volatile sig_atomic_t got;

static void handler(int sig)
{
    (void)sig;
    got++;
    int saved = errno;
    if (write(p[1], "H", 1) != 1)
        got += 100;
    errno = saved;
}

int main(void)
{
    if (pipe(p) != 0)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGALRM, &sa, NULL) != 0)
        return 1;
    struct itimerval it = { .it_value = { 0, 50000 } };
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        return 1;
    char c = 0;
    errno = 0;
    ssize_t n = read(p[0], &c, 1);
    printf("read returned %zd byte '%c' (errno %s)\n", n, c, errno == 0 ? "0" : strerror(errno));
    printf("handler ran %d time(s)\n", (int)got);
    return 0;
}
