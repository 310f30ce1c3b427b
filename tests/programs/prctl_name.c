/* prctl_name: prctl PR_SET_NAME/PR_GET_NAME (incl. truncation to 15 chars), cross-checked with /proc/self/comm; PR_GET_DUMPABLE. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static void comm(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/comm", "r");
    out[0] = 0;
    if (f) {
        if (fgets(out, (int)n, f)) {
            char *nl = strchr(out, '\n');
            if (nl)
                *nl = 0;
        }
        fclose(f);
    }
}

int main(void)
{
    char name[32] = { 0 }, c[64];
    if (prctl(PR_SET_NAME, "rr-test-name", 0, 0, 0) != 0) {
        perror("prctl");
        return 1;
    }
    prctl(PR_GET_NAME, name, 0, 0, 0);
    comm(c, sizeof c);
    printf("PR_GET_NAME: %s\n/proc/self/comm: %s\n", name, c);

    prctl(PR_SET_NAME, "a-very-long-thread-name-that-gets-truncated", 0, 0, 0);
    memset(name, 0, sizeof name);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    comm(c, sizeof c);
    printf("PR_GET_NAME after long name: %s (len %zu)\n/proc/self/comm: %s\n", name, strlen(name), c);

    int d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    printf("PR_GET_DUMPABLE returns 0 or 1: %s\n", d == 0 || d == 1 ? "yes" : "no");
    int pd = -1;
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    prctl(PR_GET_PDEATHSIG, &pd, 0, 0, 0);
    printf("PR_GET_PDEATHSIG after set 0: %d\n", pd);
    return 0;
}
