/* random_det: getrandom (several flags) and /dev/urandom reads; prints only the lengths returned, not the bytes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void)
{
    unsigned char buf[4096];
    printf("getrandom(32, 0) returned %zd\n", getrandom(buf, 32, 0));
    printf("getrandom(16, GRND_NONBLOCK) returned %zd\n", getrandom(buf, 16, GRND_NONBLOCK));
    printf("getrandom(4096) returned %zd\n", getrandom(buf, 4096, 0));
    printf("syscall(SYS_getrandom, 8) returned %ld\n", syscall(SYS_getrandom, buf, 8, 0));
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    printf("read /dev/urandom 64 returned %zd\n", read(fd, buf, 64));
    printf("read /dev/urandom 1000 returned %zd\n", read(fd, buf, 1000));
    close(fd);
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f)
        return 1;
    printf("fread /dev/urandom 100 returned %zu\n", fread(buf, 1, 100, f));
    fclose(f);
    /* two 32-byte draws are (overwhelmingly likely) distinct */
    unsigned char x[32], y[32];
    if (getrandom(x, 32, 0) != 32 || getrandom(y, 32, 0) != 32)
        return 1;
    int same = 1;
    for (int i = 0; i < 32; i++)
        if (x[i] != y[i])
            same = 0;
    printf("two draws differ: %s\n", same ? "no" : "yes");
    return 0;
}
