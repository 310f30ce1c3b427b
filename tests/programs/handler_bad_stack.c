/* handler_bad_stack: signals whose handler frame the kernel cannot write.
   One child jumps to an unmapped stack and executes ud2: its SIGILL
   handler cannot be entered, so the kernel forces a SIGSEGV, whose handler
   runs on the alternate stack. Another child recurses past a stack limit
   of its own (setrlimit) with a SIGSEGV handler and no alternate stack:
   the kernel kills it with SIGSEGV. The parent prints how each ended and
   how deep the recursion got, which depends on the limit. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long* depth;

static void on_sigill(int sig) { (void)sig; _exit(90); }

static void on_sigsegv(int sig)
{
    static const char msg[] = "SIGSEGV handler ran on the alternate stack\n";
    (void)sig;
    if (write(1, msg, sizeof msg - 1) < 0) _exit(91);
    _exit(7);
}

static long recurse(long n)
{
    volatile char pad[256];
    pad[0] = (char)n;
    *depth = n;
    return recurse(n + 1) + pad[0];
}

static void report(const char* what, int status)
{
    if (WIFEXITED(status)) printf("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) printf("%s: killed by %s\n", what, strsignal(WTERMSIG(status)));
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    depth = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t child = fork();
    if (child == 0) {
        stack_t alt = {malloc(65536), 0, 65536};
        sigaltstack(&alt, NULL);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigill;
        sigaction(SIGILL, &sa, NULL);
        sa.sa_handler = on_sigsegv;
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGSEGV, &sa, NULL);
        __asm__ volatile("mov $0x1000, %%rsp\n\tud2" ::: "memory");
        _exit(92);
    }
    int status;
    waitpid(child, &status, 0);
    report("ud2 on an unmapped stack", status);

    child = fork();
    if (child == 0) {
        struct rlimit small = {256 * 1024, 256 * 1024};
        setrlimit(RLIMIT_STACK, &small);
        signal(SIGSEGV, on_sigsegv);
        recurse(0);
        _exit(93);
    }
    waitpid(child, &status, 0);
    report("recursion past a 256 KiB stack", status);
    printf("frames before the overflow: %ld\n", *depth);
    return 0;
}
