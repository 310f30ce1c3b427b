/* syscall_loop: 100,000 getppid syscalls and nothing else, the cost of an
 * event with the least work around it (bench/record_replay.py). */
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    long s = 0;
    for (int i = 0; i < 100000; i++)
        s += syscall(SYS_getppid);
    printf("%d\n", s != 0);
    return 0;
}
