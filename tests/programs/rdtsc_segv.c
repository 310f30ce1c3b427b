/* rdtsc_segv: rdtsc while SIGSEGV is blocked or ignored. Recording traps
 * rdtsc with a SIGSEGV the kernel forces, and forcing it unblocks a blocked
 * SIGSEGV and resets its handler: the program must not see that. Checked:
 * blocked with a handler installed (then a real fault still reaches the
 * handler), ignored, blocked by a handler's sa_mask (rdtsc inside the
 * handler), and blocked across execve (the new image's loader reads the
 * TSC too). The handler is installed with sigaction(SIGSEGV, &sa, &sa),
 * whose buffer holds the old action afterwards. prctl(PR_GET_TSC) answers
 * as natively. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <x86intrin.h>

static sigjmp_buf back;
static volatile int faults;

static void on_segv(int sig)
{
    (void)sig;
    ++faults;
    siglongjmp(back, 1);
}

static const char *segv_state(void)
{
    static char text[64];
    sigset_t now;
    struct sigaction act;
    sigprocmask(SIG_BLOCK, NULL, &now);
    sigaction(SIGSEGV, NULL, &act);
    snprintf(text, sizeof text, "blocked %s, handler %s", sigismember(&now, SIGSEGV) ? "yes" : "no",
             act.sa_handler == SIG_DFL ? "default" : act.sa_handler == SIG_IGN ? "ignored"
             : act.sa_handler == on_segv ? "ours" : "other");
    return text;
}

static void on_usr1(int sig)
{
    (void)sig;
    volatile uint64_t t = __rdtsc();
    (void)t;
    printf("in a handler masking SIGSEGV, after rdtsc: %s\n", segv_state());
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        volatile uint64_t t = __rdtsc();
        (void)t;
        printf("after execve and rdtsc: %s\n", segv_state());
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    int tsc = -1;
    prctl(PR_GET_TSC, &tsc);
    printf("PR_GET_TSC: %s\n", tsc == PR_TSC_ENABLE ? "enabled" : tsc == PR_TSC_SIGSEGV ? "SIGSEGV" : "?");
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &act, NULL);
    /* Installed with the old action written over the new one's buffer. */
    act.sa_handler = on_segv;
    sigaction(SIGSEGV, &act, &act);
    act.sa_handler = on_segv;
    sigset_t segv;
    sigemptyset(&segv);
    sigaddset(&segv, SIGSEGV);

    sigprocmask(SIG_BLOCK, &segv, NULL);
    volatile uint64_t t = __rdtsc();
    (void)t;
    printf("blocked, after rdtsc: %s\n", segv_state());
    sigprocmask(SIG_UNBLOCK, &segv, NULL);
    char *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(back, 1) == 0)
        page[0] = 1;
    printf("a real fault reached the handler: %d\n", faults);

    signal(SIGSEGV, SIG_IGN);
    t = __rdtsc();
    printf("ignored, after rdtsc: %s\n", segv_state());
    sigaction(SIGSEGV, &act, NULL);

    struct sigaction usr1;
    memset(&usr1, 0, sizeof usr1);
    usr1.sa_handler = on_usr1;
    sigaddset(&usr1.sa_mask, SIGSEGV);
    sigaction(SIGUSR1, &usr1, NULL);
    raise(SIGUSR1);
    printf("after the handler: %s\n", segv_state());

    sigprocmask(SIG_BLOCK, &segv, NULL);
    execl("/proc/self/exe", argv[0], "child", (char *)NULL);
    perror("execl");
    return 1;
}
