/* abort_sig: prints a line, flushes, then calls abort() -> process dies by SIGABRT (6). Core dumps disabled. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

int main(void)
{
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
