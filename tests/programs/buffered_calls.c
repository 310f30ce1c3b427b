/* buffered_calls: the calls the syscall buffer records without a ptrace
 * stop (docs/syscall-buffer.md): clocks, ids, the stat family and lseek,
 * in runs long enough to fill the buffer more than once, from two threads
 * taking turns and from a forked child, with traced calls (write) between
 * them. Prints only what does not change between runs. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char path[64];

static int clocks_move_forward(int n)
{
    struct timespec a, b;
    struct timeval tv;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) return 0;
        a = b;
        if (gettimeofday(&tv, NULL) != 0 || tv.tv_sec < 1000000000) return 0;
        if (time(NULL) < 1000000000) return 0;
    }
    return 1;
}

static int stats_agree(int n)
{
    int fd = open(path, O_RDONLY);
    int ok = fd >= 0;
    for (int i = 0; i < n && ok; i++) {
        struct stat a, b, c;
        struct statx x;
        ok = stat(path, &a) == 0 && lstat(path, &b) == 0 && fstat(fd, &c) == 0 &&
             statx(AT_FDCWD, path, 0, STATX_SIZE, &x) == 0 && a.st_size == 4096 && b.st_ino == a.st_ino &&
             c.st_ino == a.st_ino && x.stx_size == 4096 && fstatat(AT_FDCWD, "/nonexistent-buffered", &a, 0) == -1;
        ok = ok && lseek(fd, i % 4096, SEEK_SET) == i % 4096 && lseek(fd, 0, SEEK_END) == 4096;
    }
    if (fd >= 0) close(fd);
    return ok;
}

static pthread_mutex_t turn = PTHREAD_MUTEX_INITIALIZER;

static void* worker(void* arg)
{
    long ok = 1;
    for (int round = 0; round < 20; round++) {
        pthread_mutex_lock(&turn);
        ok &= clocks_move_forward(50) && stats_agree(10) && gettid() != getpid();
        pthread_mutex_unlock(&turn);
    }
    (void)arg;
    return (void*)ok;
}

int main(void)
{
    snprintf(path, sizeof path, "/tmp/buffered_calls.%d", getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    char page[4096];
    memset(page, 'x', sizeof page);
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page) return 1;
    close(fd);

    printf("clocks: %d\n", clocks_move_forward(5000));
    printf("stats: %d\n", stats_agree(2000));
    printf("ids: %d\n", getpid() == getpid() && gettid() == getpid());

    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, worker, NULL);
    long all = 1;
    for (int i = 0; i < 2; i++) {
        void* r;
        pthread_join(th[i], &r);
        all &= (long)r;
    }
    printf("threads: %ld\n", all);

    pid_t child = fork();
    if (child == 0) _exit(clocks_move_forward(500) && stats_agree(100) && getpid() != getppid() ? 0 : 1);
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0);
    unlink(path);
    return 0;
}
