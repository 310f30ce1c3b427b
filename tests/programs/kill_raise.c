/* kill_raise: kill(getpid(), SIGUSR1), raise(SIGUSR2), tgkill and signal(2)-installed handlers; handler runs before kill returns. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t usr1, usr2;
static volatile sig_atomic_t order[8];
static volatile sig_atomic_t norder;

static void h1(int sig) { usr1++; order[norder++] = sig; }
static void h2(int sig) { usr2++; order[norder++] = sig; }

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h1;
    if (sigaction(SIGUSR1, &sa, NULL) != 0)
        return 1;
    signal(SIGUSR2, h2);

    int r = kill(getpid(), SIGUSR1);
    printf("kill(getpid(), SIGUSR1) returned %d, handler already ran: %s\n", r, usr1 == 1 ? "yes" : "no");
    r = raise(SIGUSR2);
    printf("raise(SIGUSR2) returned %d, handler ran: %s\n", r, usr2 == 1 ? "yes" : "no");
    r = (int)syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1);
    printf("tgkill(SIGUSR1) returned %d, usr1 count: %d\n", r, (int)usr1);
    r = kill(getpid(), 0);
    printf("kill(getpid(), 0) returned %d (existence check)\n", r);

    /* ignored signal: nothing happens */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored SIGUSR2 raised, usr2 count still: %d\n", (int)usr2);
    /* default-ignored signal with default action */
    signal(SIGCHLD, SIG_DFL);
    raise(SIGCHLD);
    printf("SIGCHLD with SIG_DFL raised: survived\n");
    /* SA_RESETHAND: handler runs once then disposition resets to default */
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR1, &sa, NULL);
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    printf("SA_RESETHAND: handler ran (count %d), disposition now SIG_DFL: %s\n", (int)usr1,
           cur.sa_handler == SIG_DFL ? "yes" : "no");
    printf("order:");
    for (int i = 0; i < norder; i++)
        printf(" %s", order[i] == SIGUSR1 ? "USR1" : "USR2");
    printf("\n");
    return 0;
}
