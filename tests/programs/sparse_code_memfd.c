/* sparse_code_memfd: maps one page of a 20 GB memfd (all of it a hole)
 * executable, as a JIT that maps its code twice does. The recorder looks
 * at a file mapped executable for code to patch: it must not read the
 * whole file to find that it is no ELF file. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    int fd = memfd_create("jit_double_map", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, 20ll << 30) != 0) return 1;
    unsigned char *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (rw == MAP_FAILED) return 1;
    static const unsigned char ret42[] = {0xb8, 42, 0, 0, 0, 0xc3}; /* mov eax, 42; ret */
    memcpy(rw, ret42, sizeof ret42);
    unsigned char *rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (rx == MAP_FAILED) return 1;
    int (*f)(void) = (int (*)(void))rx;
    printf("the code in the memfd returns %d\n", f());
    return close(fd) == 0 ? 0 : 1;
}
