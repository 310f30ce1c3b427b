/* echo_order: four processes write lines to stdout at the same time. The
   order the lines reach stdout is whatever the kernel made it, and replay
   must echo them in that same order: each line is one write, and the events
   of two processes' writes must not be recorded in an order other than the
   one their bytes arrived in. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    for (int child = 0; child < 4; child++) {
        if (fork() == 0) {
            for (int line = 0; line < 1000; line++) {
                char buf[64];
                int n = snprintf(buf, sizeof buf, "process %d line %d\n", child, line);
                if (write(1, buf, n) != n) return 1;
            }
            return 0;
        }
    }
    int status, ok = 1;
    for (int child = 0; child < 4; child++) {
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ok = 0;
    }
    printf("all children done: %s\n", ok ? "yes" : "no");
    return 0;
}
