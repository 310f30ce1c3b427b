/* self_mem_write: the program changes its own memory by writing to
   /proc/self/mem (pwrite at an address, write after lseek) and through
   /proc/self/task/TID/mem, also into a read-only page, and prints what its
   memory holds after each write. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile long counter = 1;
static char text[32] = "before";

int main(void)
{
    int fd = open("/proc/self/mem", O_RDWR);
    if (fd < 0) {
        printf("cannot open /proc/self/mem\n");
        return 1;
    }
    long v = 42;
    ssize_t n = pwrite(fd, &v, sizeof v, (off_t)(unsigned long)&counter);
    printf("pwrite: %zd, counter is now %ld\n", n, counter);

    lseek(fd, (off_t)(unsigned long)text, SEEK_SET);
    n = write(fd, "after", 6);
    printf("write after lseek: %zd, text is now \"%s\"\n", n, text);

    char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    n = pwrite(fd, "read-only page", 15, (off_t)(unsigned long)ro);
    printf("pwrite into a read-only page: %zd, it holds \"%s\"\n", n, ro);

    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/mem", (long)syscall(SYS_gettid));
    int tfd = open(path, O_RDWR);
    v = 7;
    n = pwrite(tfd, &v, sizeof v, (off_t)(unsigned long)&counter);
    printf("pwrite through the task's mem: %zd, counter is now %ld\n", n, counter);
    int dup_fd = dup(tfd);
    v = 8;
    n = pwrite(dup_fd, &v, sizeof v, (off_t)(unsigned long)&counter);
    printf("pwrite through a dup of it: %zd, counter is now %ld\n", n, counter);
    return 0;
}
