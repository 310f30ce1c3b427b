/* buffered_libc: the calls libc makes to itself, which reach the syscall
 * buffer only through its rewritten syscall instructions
 * (docs/syscall-buffer.md, "Patching libc"): stdio reading and writing a
 * file (libc's own read, write and lseek), writev of a file, readdir's
 * getdents64 and opendir's fstat, opens for reading and closes of files
 * and directories (whose descriptors traced calls then use), glibc's syscall() with calls the buffer
 * takes (getpid, gettid, clock_gettime) and with calls it leaves to the
 * stub's own syscall instruction (getppid, a fork made through syscall(),
 * whose child returns inside the stub), from two threads. The program
 * never calls read, write, lseek, stat or getpid through their own entry
 * points. Prints only what does not change between runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static uint32_t sum(const unsigned char* p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i < n; i++) s = s * 31 + p[i];
    return s;
}

/* Writes `lines` numbered lines through stdio, reads them back with fgets
 * and fread, seeks around; returns a sum of what came back. */
static uint32_t stdio_round(const char* name, int lines, int salt)
{
    FILE* f = fopen(name, "w+");
    if (!f) return 0;
    setvbuf(f, NULL, _IOFBF, 4096);
    for (int i = 0; i < lines; i++) fprintf(f, "line %d of round %d: %0*d\n", i, salt, 40, i * salt);
    fflush(f);
    uint32_t s = 0;
    char buf[256];
    rewind(f);
    int got = 0;
    while (fgets(buf, sizeof buf, f)) {
        s = s * 7 + sum((unsigned char*)buf, strlen(buf));
        got++;
    }
    if (got != lines) s = 0;
    for (int i = 0; i < 20; i++) {
        long at = (long)((i * 7919) % (lines * 40));
        if (fseek(f, at, SEEK_SET) != 0) return 0;
        size_t n = fread(buf, 1, 100, f);
        s = s * 7 + sum((unsigned char*)buf, n) + (uint32_t)n;
    }
    if (fseek(f, 0, SEEK_END) != 0 || ftell(f) <= 0) s = 0;
    fclose(f);
    return s;
}

/* Each thread its own file; they run in turns the recorder picks. */
static void* worker(void* arg)
{
    char name[128];
    snprintf(name, sizeof name, "%s/thread%ld", dir, (long)arg);
    uint32_t s = 0;
    for (int round = 0; round < 5; round++)
        s = s * 3 + stdio_round(name, 300, round + (int)(long)arg) + (syscall(SYS_gettid) > 0);
    unlink(name);
    return (void*)(uintptr_t)s;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/buffered_libc.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char name[128];
    snprintf(name, sizeof name, "%s/main", dir);
    printf("stdio: %u\n", stdio_round(name, 2000, 1));
    unlink(name);
    /* A traced call, so that rr dump lists the two below as a group of
     * their own (the unlink is buffered too). */
    syscall(SYS_getppid);

    /* glibc's syscall(): taken by the buffer, or made by the stub */
    long pid = syscall(SYS_getpid), tid = syscall(SYS_gettid), ppid = syscall(SYS_getppid);
    printf("syscall(): pid %s tid, parent %s\n", pid == tid ? "is" : "is not", ppid > 0 && ppid != pid ? "differs" : "SAME");
    struct timespec a, b;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
    printf("clock: %s\n", b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec) ? "monotonic" : "BACKWARDS");
    printf("bad call: %ld\n", syscall(SYS_clock_gettime, 12345, &a) == -1 ? 1L : 0L);

    /* a fork through syscall(): the child returns inside the stub */
    fflush(stdout);
    long child = syscall(SYS_fork);
    if (child == 0) {
        long me = syscall(SYS_getpid);
        _exit(me != pid ? 7 : 1);
    }
    int status = 0;
    waitpid((pid_t)child, &status, 0);
    printf("fork child: exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    /* writev of a file; a directory of 300 entries read with readdir
     * (getdents64), opened by opendir, which checks it with libc's fstat */
    snprintf(name, sizeof name, "%s/vec", dir);
    int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0600);
    struct iovec iov[3] = {{"one ", 4}, {"two ", 4}, {"three\n", 6}};
    long vec = 0;
    for (int i = 0; i < 300; i++) vec += writev(fd, iov, 3);
    close(fd);
    printf("writev: %ld bytes\n", vec);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "%s/entry%03d", dir, i);
        close(open(name, O_CREAT | O_WRONLY, 0600));
    }
    DIR* d = opendir(dir);
    int entries = 0;
    uint32_t names = 0;
    if (d) {
        struct dirent* e;
        while ((e = readdir(d))) {
            entries++;
            names += sum((unsigned char*)e->d_name, strlen(e->d_name));  /* order-free */
        }
        closedir(d);
    }
    printf("dir entries: %d, names %u\n", entries, names);
    snprintf(name, sizeof name, "%s/vec", dir);
    unlink(name);

    /* opens for reading and closes of files and directories: in the buffer,
     * and the descriptors work with traced calls as well (fcntl, dup);
     * a FIFO is opened the traced way */
    uint32_t opened = 0;
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "%s/entry%03d", dir, i);
        int fd = open(name, O_RDONLY | O_CLOEXEC);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        char b[8];
        opened = opened * 3 + (fd >= 0) + (dfd >= 0) + (uint32_t)read(fd, b, sizeof b);
        if (i % 10 == 0) {
            int copy = dup(fd);
            opened += (fcntl(fd, F_GETFD) & FD_CLOEXEC) + (copy > fd) + (close(copy) == 0);
        }
        close(fd);
        close(dfd);
    }
    snprintf(name, sizeof name, "%s/fifo", dir);
    mkfifo(name, 0600);
    int ffd = open(name, O_RDONLY | O_NONBLOCK);
    char fb[4];
    printf("opened: %u, fifo read %ld\n", opened, ffd >= 0 ? (long)read(ffd, fb, sizeof fb) : -2L);
    close(ffd);
    unlink(name);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "%s/entry%03d", dir, i);
        unlink(name);
    }

    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void*)i);
    for (int i = 0; i < 2; i++) {
        void* r;
        pthread_join(t[i], &r);
        printf("thread %d: %u\n", i, (unsigned)(uintptr_t)r);
    }
    rmdir(dir);
    return 0;
}
