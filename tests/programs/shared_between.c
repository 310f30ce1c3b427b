/* shared_between: two processes that share memory and a descriptor table
 * for the whole run, taking turns through a pipe pair so that every event
 * between them is a point where a checkpoint can be taken: anonymous
 * MAP_SHARED memory (its first page unmapped, so that the rest maps at a
 * nonzero offset of the object), a System V segment attached in both, a
 * memfd mapped shared, a file mapped shared and writable (also written
 * with pwrite), and a child made with clone(CLONE_FILES) without
 * CLONE_VM, which opens descriptors the parent then uses. Each turn both
 * write their marks and check the other's, and the parent prints sums. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 40

static long page;
static char *anon, *seg, *mem, *file;
static int to_child[2], to_parent[2];
static char dir[] = "/tmp/shared_between-XXXXXX";
static char path[64];
static volatile int *child_fd;  /* in the anonymous memory */

static unsigned sum(const char *p, long len)
{
    unsigned s = 0;
    for (long i = 0; i < len; ++i) s = s * 31 + (unsigned char)p[i];
    return s;
}

static void mark(int who, int round)
{
    anon[(round * 7 + who) % (3 * page)] = 'a' + who + round;
    seg[(round * 13 + who) % (2 * page)] = 'b' + who + round;
    mem[(round * 17 + who) % (2 * page)] = 'c' + who + round;
    file[(round * 19 + who) % page] = 'd' + who + round;
}

static int child(void *arg)
{
    (void)arg;
    char c;
    for (int round = 0; round < ROUNDS; ++round) {
        if (read(to_child[0], &c, 1) != 1) _exit(1);
        mark(1, round);
        if (round == 5) {
            /* A descriptor the parent uses through the shared table. */
            *child_fd = open(path, O_RDWR);
        }
        if (write(to_parent[1], "c", 1) != 1) _exit(1);
    }
    _exit(0);
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 2 * page) != 0) return 1;
    char *whole = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    munmap(whole, page);
    anon = whole + page;
    child_fd = (volatile int *)(anon + 3 * page - 64);
    *child_fd = -1;
    int id = shmget(IPC_PRIVATE, 2 * page, 0600);
    seg = shmat(id, NULL, 0);
    shmctl(id, IPC_RMID, NULL);
    int mfd = memfd_create("shared_between", 0);
    if (mfd < 0 || ftruncate(mfd, 2 * page) != 0) return 1;
    mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    file = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, page);
    if (seg == (char *)-1 || mem == MAP_FAILED || file == MAP_FAILED || whole == MAP_FAILED) return 1;
    if (pipe(to_child) || pipe(to_parent)) return 1;
    static char stack[65536];
    pid_t pid = clone(child, stack + sizeof stack, CLONE_FILES | SIGCHLD, NULL);
    if (pid < 0) return 1;
    char c;
    for (int round = 0; round < ROUNDS; ++round) {
        mark(0, round);
        if (round % 4 == 0) pwrite(fd, "P", 1, page + round);
        if (write(to_child[1], "p", 1) != 1) return 1;
        if (read(to_parent[0], &c, 1) != 1) return 1;
        if (round > 5 && round % 8 == 0) {
            /* The child's descriptor, through the table both share. */
            char buf[8] = {0};
            long n = pread(*child_fd, buf, 1, page + round - 4);
            printf("round %d: child's fd reads %ld byte '%c'\n", round, n, buf[0]);
        }
        if (round % 5 == 4)
            printf("round %d: anon %08x seg %08x memfd %08x file %08x\n", round, sum(anon, 3 * page - 64),
                   sum(seg, 2 * page), sum(mem, 2 * page), sum(file, page));
    }
    int status;
    waitpid(pid, &status, 0);
    printf("child: exit %d\n", WEXITSTATUS(status));
    char back[4] = {0};
    pread(fd, back, 3, page);
    printf("file through read: %02x %02x %02x\n", back[0], back[1], back[2]);
    close(*child_fd);
    unlink(path);
    rmdir(dir);
    return 0;
}
