/* compute_lcg: CPU-bound loop (50M LCG iterations + mixing) with almost no syscalls; prints checksums. */
#include <stdint.h>
#include <stdio.h>

int main(void)
{
    uint64_t x = 88172645463325252ull, acc = 0;
    uint32_t hist[16] = { 0 };
    for (uint32_t i = 0; i < 50000000u; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t y = x ^ (x >> 29);
        acc += y * (i | 1);
        if ((y & 0xff) == 0x5a)
            acc ^= acc >> 17;
        hist[(x >> 60) & 15]++;
    }
    printf("final state: %016llx\n", (unsigned long long)x);
    printf("accumulator: %016llx\n", (unsigned long long)acc);
    for (int i = 0; i < 16; i++)
        printf("hist[%2d] = %u\n", i, hist[i]);
    return 0;
}
