/* barely_changes: 16 MiB of random heap, then 400 turns that each change
 * one page's worth of it and make a syscall: checkpoints of it differ in a
 * few pages (incremental checkpoints store only those). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    size_t size = 16u << 20;
    uint64_t *heap = malloc(size);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < size / 8; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        heap[i] = x;
    }
    uint64_t sum = 0;
    for (int turn = 0; turn < 400; ++turn) {
        size_t at = (size_t)(turn * 7919) % (size / 8 - 512);
        for (int k = 0; k < 512; ++k) heap[at + k] += turn;
        sum += heap[at] + (uint64_t)getppid() * 0;
    }
    for (size_t i = 0; i < size / 8; i += 4096) sum += heap[i];
    printf("sum %016llx\n", (unsigned long long)sum);
    free(heap);
    return 0;
}
