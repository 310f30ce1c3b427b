/* stderr_write: writes to stderr (stdio and raw write(2)) interleaved with stdout. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    const char *raw = "stderr: raw write(2) line\n";
    printf("stdout: line 1\n");
    fflush(stdout);
    fprintf(stderr, "stderr: fprintf line\n");
    if (write(2, raw, strlen(raw)) != (ssize_t)strlen(raw))
        return 1;
    printf("stdout: line 2\n");
    fflush(stdout);
    if (dprintf(2, "stderr: dprintf %d\n", 42) < 0)
        return 1;
    printf("stdout: done\n");
    return 0;
}
