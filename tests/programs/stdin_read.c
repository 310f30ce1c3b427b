/* stdin_read: reads all of stdin with read(2), prints byte count, line count and an FNV-1a checksum. */
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>
#include <errno.h>

int main(void)
{
    char buf[1000]; /* odd size so reads don't align with lines */
    uint64_t h = 1469598103934665603ull;
    size_t bytes = 0, lines = 0, reads = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("read");
            return 1;
        }
        if (n == 0)
            break;
        reads++;
        for (ssize_t i = 0; i < n; i++) {
            h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
            if (buf[i] == '\n')
                lines++;
        }
        bytes += (size_t)n;
    }
    printf("bytes=%zu lines=%zu fnv1a=%016llx nonempty_reads>=1: %s\n", bytes, lines,
           (unsigned long long)h, reads >= 1 ? "yes" : "no");
    return 0;
}
