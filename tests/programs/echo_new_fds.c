/* echo_new_fds: descriptors that reach stdout without being a dup of it
   in any syscall's arguments: one taken from a child with pidfd_getfd, one
   opened through /proc/self/fd/1, one through /dev/stdout. Their writes
   reach the user's stdout natively, so replay must echo them; a write to a
   descriptor of /dev/null must not be echoed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void say(int fd, const char* text)
{
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) printf("write to %d failed\n", fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t child = fork();
    if (child == 0) {
        pause();
        return 0;
    }
    int pidfd = syscall(SYS_pidfd_open, child, 0);
    int got = pidfd >= 0 ? syscall(SYS_pidfd_getfd, pidfd, 1, 0) : -1;
    if (got >= 0) say(got, "through the child's stdout, taken with pidfd_getfd\n");
    else  // the echo of a descriptor taken from another process is then not checked
        printf("pidfd_getfd is not available (%s: %s): not checked\n", pidfd >= 0 ? "pidfd_getfd" : "pidfd_open",
               strerror(errno));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    int proc = open("/proc/self/fd/1", O_WRONLY);
    if (proc >= 0) say(proc, "through /proc/self/fd/1\n");
    int dev = open("/dev/stdout", O_WRONLY);
    if (dev >= 0) say(dev, "through /dev/stdout\n");
    int null = open("/dev/null", O_WRONLY);
    say(null, "to /dev/null: never seen\n");
    printf("done\n");
    return 0;
}
