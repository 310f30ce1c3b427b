/* segv_death: prints a line, flushes, then stores through a bad pointer with no handler -> dies by SIGSEGV (11). Core dumps disabled. */
#include <stdio.h>
#include <stdint.h>
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    printf("about to segfault\n");
    fflush(stdout);
    int *volatile bad = (int *)(uintptr_t)16;
    *bad = 1;
    printf("unreachable\n");
    return 0;
}
