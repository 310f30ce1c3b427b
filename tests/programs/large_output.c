/* large_output: writes ~2 MB of deterministic numbered lines to stdout. */
#include <stdio.h>
#include <stdint.h>

int main(void)
{
    uint32_t x = 12345;
    size_t total = 0;
    int i;
    for (i = 0; total < 2u * 1024 * 1024; i++) {
        x = x * 1103515245u + 12345u;
        int n = printf("line %07d value %010u abcdefghijklmnopqrstuvwxyz\n", i, x);
        if (n < 0)
            return 1;
        total += (size_t)n;
    }
    printf("total lines %d bytes %zu\n", i, total);
    return 0;
}
