/* random_nondet: NONDET - prints hex of 16 bytes from getrandom() and 16 bytes from /dev/urandom; replay must reproduce them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

static void hex(const char *label, const unsigned char *b, size_t n)
{
    printf("%s: ", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
}

int main(void)
{
    unsigned char a[16], b[16];
    if (getrandom(a, sizeof a, 0) != (ssize_t)sizeof a) {
        perror("getrandom");
        return 1;
    }
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        perror("/dev/urandom");
        return 1;
    }
    close(fd);
    hex("getrandom", a, sizeof a);
    hex("urandom", b, sizeof b);
    /* also randomness that flows through libc: random() seeded from getrandom */
    unsigned int seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        return 1;
    srandom(seed);
    printf("random(): %ld\n", random());
    return 0;
}
