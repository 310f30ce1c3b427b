/* ro_mapped_change: maps a file shared from a read-only descriptor (replay
   maps such a file from a copy that does not change), then writes to it
   through another descriptor while it is mapped: recording must refuse. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void)
{
    char dir[] = "/tmp/rr-romap-XXXXXX";
    char path[256];
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/f", dir);
    int rw = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (rw < 0 || pwrite(rw, "before", 6, 0) != 6) return 1;
    int ro = open(path, O_RDONLY);
    const char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    unlink(path);
    rmdir(dir);
    if (p == MAP_FAILED) return 1;
    pwrite(rw, "after!", 6, 0);
    printf("the mapping shows %.6s\n", p);
    return 0;
}
