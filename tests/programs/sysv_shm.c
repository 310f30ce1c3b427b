/* sysv_shm: System V shared memory. A segment whose size is not a whole
 * number of pages: IPC_STAT and SHM_INFO, attached twice in one process
 * (both mappings show each other's writes), written by a forked child
 * through its inherited attachment and through one of its own, attached
 * read-only, partly unmapped with munmap and then detached (shmdt takes
 * the rest), removed with IPC_RMID while still attached (it stays usable
 * through the mapping), attached again later at a chosen address with
 * SHM_REMAP over a private mapping (its earlier contents are back), and a
 * detach where nothing is attached. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "show.h"

static long page;

/* Sum of the bytes, and how many differ from `c`. */
static void check(const char *what, const char *p, long len, char c)
{
    long off = 0, sum = 0;
    for (long i = 0; i < len; ++i) {
        sum += (unsigned char)p[i];
        off += p[i] != c;
    }
    printf("%s: sum %ld, %ld bytes not '%c'\n", what, sum, off, c ? c : '0');
}

int main(void)
{
    page = sysconf(_SC_PAGESIZE);
    long size = 3 * page + 100;
    int id = shmget(IPC_PRIVATE, size, 0600);
    if (id < 0) {
        printf("shmget: errno %d\n", errno);
        return 1;
    }
    struct shmid_ds ds;
    memset(&ds, '#', sizeof ds);
    result("shmctl IPC_STAT", shmctl(id, IPC_STAT, &ds));
    printf("  size %zu, attached %lu, mode %o\n", ds.shm_segsz, (unsigned long)ds.shm_nattch,
           ds.shm_perm.mode & 0777);
    struct shm_info info;
    memset(&info, '#', sizeof info);
    printf("shmctl SHM_INFO: %s\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&info) >= 0 ? "ok" : "failed");
    printf("  used ids > 0: %s\n", info.used_ids > 0 ? "yes" : "no");

    char *a = shmat(id, NULL, 0);
    char *b = shmat(id, NULL, 0);
    if (a == (char *)-1 || b == (char *)-1) {
        printf("shmat: errno %d\n", errno);
        return 1;
    }
    check("fresh", a, size, 0);
    memset(a, 'a', size / 2);
    memset(b + size / 2, 'b', size - size / 2);
    check("first half via b", b, size / 2, 'a');
    check("second half via a", a + size / 2, size - size / 2, 'b');
    memset(&ds, '#', sizeof ds);
    shmctl(id, IPC_STAT, &ds);
    printf("  attached %lu\n", (unsigned long)ds.shm_nattch);

    pid_t child = fork();
    if (child == 0) {
        char *c = shmat(id, NULL, 0);
        memset(a, 'c', page);                /* inherited attachment */
        memset(c + page, 'd', page);         /* its own */
        shmdt(c);
        _exit(0);
    }
    int status;
    waitpid(child, &status, 0);
    check("page 0 after the child", b, page, 'c');
    check("page 1 after the child", b + page, page, 'd');

    char *r = shmat(id, NULL, SHM_RDONLY);
    check("read-only page 2", r + 2 * page, page, 'b');
    result("shmdt read-only", shmdt(r));

    /* The first page of b goes with munmap, the rest with shmdt. */
    result("munmap a page of b", munmap(b, page));
    result("shmdt b", shmdt(b));
    result("shmdt b again", shmdt(b));
    result("shmctl IPC_RMID", shmctl(id, IPC_RMID, NULL));
    a[0] = 'z';
    printf("after removal: %c\n", a[0]);

    /* Attached again at a chosen address, over a private mapping. */
    char *at = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(at, 'p', 4 * page);
    char *again = shmat(id, at, SHM_REMAP);
    printf("shmat SHM_REMAP at the mapping: %s\n", again == at ? "yes" : "no");
    check("again page 1", again + page, page, 'd');
    printf("again[0]: %c\n", again[0]);
    result("shmdt again", shmdt(again));
    result("shmdt a", shmdt(a));
    result("shmat after the last detach", (long)shmat(id, NULL, 0));
    return 0;
}
