/* itimer_real: setitimer(ITIMER_REAL) periodic 10ms; handler fires 3 times while the main loop makes syscalls (getppid).
 * An expiry that comes while the third signal is on its way to the handler (a
 * loaded machine, or a recorder's stop in between) is pending when the handler
 * disarms the timer and runs the handler a fourth time, natively too; such
 * late signals are counted apart and printed on stderr, which only the
 * recording and its replay must agree on. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t fired, late;

static void handler(int sig)
{
    (void)sig;
    if (fired == 3) {
        late++;
        return;
    }
    if (++fired == 3) {
        /* disarm from inside the handler so the count is exactly 3 */
        struct itimerval off = { { 0, 0 }, { 0, 0 } };
        setitimer(ITIMER_REAL, &off, NULL);
    }
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { .it_interval = { 0, 10000 }, .it_value = { 0, 10000 } };
    if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
        perror("setitimer");
        return 1;
    }
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer interval is 10ms: %s\n", cur.it_interval.tv_sec == 0 && cur.it_interval.tv_usec == 10000 ? "yes" : "no");
    unsigned long calls = 0;
    pid_t pp = getppid();
    int consistent = 1;
    while (fired < 3) {
        if (getppid() != pp)
            consistent = 0;
        calls++;
    }
    /* give a (disarmed) timer the chance to misfire */
    for (int i = 0; i < 1000; i++)
        getppid();
    usleep(30000);
    printf("handler fired exactly 3 times: %s (count %d)\n", fired == 3 ? "yes" : "no", (int)fired);
    printf("loop made syscalls: %s, getppid consistent: %s\n", calls > 0 ? "yes" : "no", consistent ? "yes" : "no");
    fprintf(stderr, "late signals after the disarm: %d\n", (int)late);
    getitimer(ITIMER_REAL, &cur);
    printf("timer disarmed: %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 ? "yes" : "no");
    return 0;
}
