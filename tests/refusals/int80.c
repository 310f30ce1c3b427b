/* int80: a 64-bit program makes a 32-bit syscall with int $0x80 (number 20
   is getpid in the 32-bit table and writev in the 64-bit one). Recording
   must refuse it by name rather than record it as the 64-bit call of that
   number. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
    printf("32-bit getpid: %s\n", ret == getpid() ? "same pid" : "another answer");
    return 0;
}
