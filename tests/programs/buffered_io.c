/* buffered_io: reads and writes the syscall buffer records without a ptrace
 * stop (regular files: read, write, pread, pwrite, readv, preadv) and those that must stay
 * traced (docs/syscall-buffer.md): stdout, a pipe, a directory, a file the
 * program maps shared (the mapping sees the write), its own memory through
 * /proc/self/mem (the write changes a variable), a read larger than the
 * buffer. Runs long enough to fill the buffer many times, from two threads
 * taking turns and from a forked child. Prints only what does not change
 * between runs: sums of what it read back. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static char path[96];

static uint32_t sum(const unsigned char* p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
    return s;
}

/* Writes `blocks` blocks of 4096 bytes, each filled with its number plus
 * `salt`, then reads them back in order and at random places. */
static uint32_t write_then_read(int fd, int blocks, int salt)
{
    unsigned char block[4096];
    uint32_t s = 0;
    if (ftruncate(fd, (off_t)blocks * 4096) != 0) return 0;
    for (int i = 0; i < blocks; i++) {
        memset(block, (i + salt) & 0xff, sizeof block);
        if (pwrite(fd, block, sizeof block, (off_t)i * 4096) != sizeof block) return 0;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) return 0;
    for (int i = 0; i < blocks; i++) {
        if (read(fd, block, sizeof block) != sizeof block) return 0;
        s = s * 7 + sum(block, sizeof block);
    }
    if (read(fd, block, sizeof block) != 0) return 0;  /* at the end */
    for (int i = 0; i < blocks; i++) {
        int at = (i * 37) % blocks;
        if (pread(fd, block, 100, (off_t)at * 4096 + 7) != 100) return 0;
        s = s * 7 + sum(block, 100);
    }
    return s;
}

static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;

static void* worker(void* arg)
{
    long id = (long)arg;
    char name[128];
    snprintf(name, sizeof name, "%s/thread%ld", dir, id);
    int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0600);
    uint32_t s = 0;
    for (int round = 0; round < 10; round++) {
        pthread_mutex_lock(&turn);
        s = s * 3 + write_then_read(fd, 40, round + (int)id);
        pthread_mutex_unlock(&turn);
    }
    close(fd);
    unlink(name);
    return (void*)(uintptr_t)s;
}

static volatile int poked = 1;

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/buffered_io.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    if (fd < 0) return 1;

    /* A stretch that starts with buffered calls (rr dump shows them). */
    printf("start\n");
    fflush(stdout);
    unsigned char block[4096];
    memset(block, 'a', sizeof block);
    int ok = pwrite(fd, block, sizeof block, 0) == sizeof block && pread(fd, block, sizeof block, 0) == sizeof block;
    printf("first: %d\n", ok);
    /* readv and preadv spread what they read over their iovecs. */
    {
        char head[7], body[4089], tail[100];
        struct iovec iov[2] = {{head, sizeof head}, {body, sizeof body}};
        memset(block, 'b', 50);
        ssize_t n = pwrite(fd, block, 50, 3) == 50 && lseek(fd, 0, SEEK_SET) == 0 ? readv(fd, iov, 2) : -1;
        struct iovec one = {tail, sizeof tail};
        ssize_t m = preadv(fd, &one, 1, 3996);
        printf("readv: %zd %.7s %c%c, preadv: %zd %c\n", n, head, body[0], body[4088], m, tail[99]);
    }

    /* 2000 blocks read back three ways: many times the buffer. */
    printf("file: %08x\n", write_then_read(fd, 2000, 0));

    /* Errors are results too: a read past the end, a write to a read-only
     * descriptor, a bad descriptor, a directory. */
    int ro = open(path, O_RDONLY);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    printf("errors: %zd %zd %zd %zd\n", pread(fd, block, 10, 1 << 30), write(ro, block, 1), read(999, block, 1),
           read(dfd, block, 1));
    close(dfd);

    /* Larger than the buffer: traced, and still right. */
    size_t big = 3 << 20;
    unsigned char* lots = malloc(big);
    for (size_t i = 0; i < big; i++) lots[i] = (unsigned char)(i * 13);
    ssize_t put = pwrite(fd, lots, big, 0);
    memset(lots, 0, big);
    ssize_t got = pread(ro, lots, big, 0);
    printf("big: %zd %zd %08x\n", put, got, sum(lots, big));
    free(lots);

    /* A file mapped shared sees the write. */
    unsigned char* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memset(block, 'z', 64);
    printf("mapped: %d", pwrite(fd, block, 64, 0) == 64);
    printf(" %c%c\n", map[0], map[63]);
    munmap(map, 4096);

    /* Its own memory through /proc/self/mem changes. */
    int mem = open("/proc/self/mem", O_RDWR);
    int value = 42;
    printf("self mem: %zd", pwrite(mem, &value, sizeof value, (off_t)(uintptr_t)&poked));
    printf(" %d\n", poked);
    close(mem);

    /* A pipe stays traced (it may block). */
    int p[2];
    if (pipe(p) != 0) return 1;
    printf("pipe: %zd", write(p[1], "pipe!", 5));
    char buf[8] = {0};
    printf(" %zd %s\n", read(p[0], buf, sizeof buf - 1), buf);

    pthread_t th[2];
    for (long i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, (void*)i);
    for (int i = 0; i < 2; i++) {
        void* r;
        pthread_join(th[i], &r);
        printf("thread %d: %08x\n", i, (unsigned)(uintptr_t)r);
    }

    pid_t child = fork();
    if (child == 0) _exit(write_then_read(fd, 100, 5) == 0);
    int status;
    waitpid(child, &status, 0);
    printf("child: %d %08x\n", WIFEXITED(status) && WEXITSTATUS(status) == 0, write_then_read(fd, 100, 5));

    close(ro);
    close(fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
