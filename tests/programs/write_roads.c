/* write_roads: changes memory by every road between two syscalls, each
   road in a stretch of its own (getppid marks them), so that a checkpoint
   taken at each event sees exactly one road since the one before: a
   store, a syscall's output written by replay (read), one the kernel
   writes in replay too (rt_sigprocmask's old set), a signal frame, a
   thread, mremap away and into a vacated place, mremap of two mappings
   the kernel merged (one made after a checkpoint), a fork child's copy,
   MADV_DONTNEED of anonymous memory, a private file page dropped and read
   back from the file, mprotect, a mapping made since, brk. Incremental
   checkpoints with write tracking must see every one (test write_tracking). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { perror(#c); exit(1); } } while (0)
#define PAGE 4096
#define PAGES 16

static char *heap;

static void mark(void) { syscall(SYS_getppid); }

static uint64_t sum(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static void on_usr1(int sig) { heap[11 * PAGE + 9] = (char)sig; }

static void *thread_writes(void *arg)
{
    heap[12 * PAGE + 3] = 'T';
    return arg;
}

int main(void)
{
    heap = mmap(NULL, PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(heap != MAP_FAILED);
    for (int i = 0; i < PAGES; i++) memset(heap + i * PAGE, 'a' + i, PAGE);
    char *moving = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(moving != MAP_FAILED);
    memset(moving, 'm', 2 * PAGE);
    char *filler = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(filler != MAP_FAILED);
    memset(filler, 'f', 2 * PAGE);
    char *dest = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);  /* where `moving` goes */
    CHECK(dest != MAP_FAILED);

    /* A private mapping of a file, its first page copied by a write. */
    char path[] = "/tmp/rrtest-write-roads-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char page[PAGE];
    memset(page, 'F', PAGE);
    for (int i = 0; i < 2; i++) CHECK(write(fd, page, PAGE) == PAGE);
    CHECK(close(fd) == 0);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    char *file = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    CHECK(file != MAP_FAILED);
    CHECK(close(fd) == 0);
    file[0] = 'c';
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    int pipefd[2], go[2];
    CHECK(pipe(pipefd) == 0 && pipe(go) == 0);
    CHECK(write(pipefd[1], "from a pipe", 11) == 11);
    mark();

    heap[1 * PAGE] = 'S';  /* a store */
    mark();
    CHECK(read(pipefd[0], heap + 2 * PAGE + 100, 11) == 11);  /* replay writes the output */
    mark();
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    /* The old set lands in the heap: the kernel writes it in replay too. */
    CHECK(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, heap + 3 * PAGE + 8, 8) == 0);
    mark();
    raise(SIGUSR1);  /* the handler writes page 11; the frame goes on the stack */
    mark();
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_writes, NULL) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    mark();
    /* mremap away, then another mapping moved into the vacated place. */
    char *moved = mremap(moving, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
    CHECK(moved != MAP_FAILED);
    mark();
    CHECK(mremap(filler, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, moving) == moving);
    mark();
    /* Two adjacent mappings made one after the other: the kernel merges
       them, and mremap grows both as one. */
    char *pair = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(pair != MAP_FAILED);
    CHECK(mmap(pair, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == pair);
    memset(pair, 'l', 2 * PAGE);
    mark();
    CHECK(mmap(pair + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == pair + 2 * PAGE);
    memset(pair + 2 * PAGE, 'h', 2 * PAGE);
    mark();
    char *both = mremap(pair, 4 * PAGE, 8 * PAGE, MREMAP_MAYMOVE);
    CHECK(both != MAP_FAILED);
    both[7 * PAGE] = 'g';
    mark();
    madvise(heap + 6 * PAGE, PAGE, MADV_DONTNEED);  /* zeros from here */
    mark();
    volatile char z = heap[6 * PAGE];  /* read back: the zero page */
    (void)z;
    mark();
    /* The copied file page dropped: the file's bytes again, then read. */
    CHECK(madvise(file, PAGE, MADV_DONTNEED) == 0);
    mark();
    volatile char back = file[0];
    (void)back;
    mark();
    CHECK(mprotect(heap + 7 * PAGE, PAGE, PROT_READ) == 0);
    mark();
    CHECK(mprotect(heap + 7 * PAGE, PAGE, PROT_READ | PROT_WRITE) == 0);
    heap[7 * PAGE + 7] = 'P';
    mark();
    char *fresh = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(fresh != MAP_FAILED);
    fresh[5] = 'N';
    mark();
    char *brk_at = sbrk(0);
    CHECK(sbrk(2 * PAGE) != (void *)-1);
    brk_at[PAGE] = 'B';
    mark();
    /* A fork child writes its copy of page 8 and waits; the parent page 9. */
    int done[2];
    CHECK(pipe(done) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        heap[8 * PAGE] = 'K';
        mark();
        char c;
        CHECK(write(done[1], "k", 1) == 1);
        CHECK(read(go[0], &c, 1) == 1);
        printf("child: page 8 %016llx\n", (unsigned long long)sum(heap + 8 * PAGE, PAGE));
        fflush(stdout);
        _exit(0);
    }
    char c;
    CHECK(read(done[0], &c, 1) == 1);
    heap[9 * PAGE] = 'Q';
    mark();
    mark();
    CHECK(write(go[1], "g", 1) == 1);
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    mark();

    for (int i = 0; i < PAGES; i++) printf("page %d: %016llx\n", i, (unsigned long long)sum(heap + i * PAGE, PAGE));
    printf("moved: %016llx, moved into its place: %016llx\n", (unsigned long long)sum(moved, 2 * PAGE),
           (unsigned long long)sum(moving, 2 * PAGE));
    printf("file: %c%c, fresh: %c, brk: %c, grown pair: %c%c%c\n", file[0], file[PAGE], fresh[5], brk_at[PAGE], both[0],
           both[3 * PAGE], both[7 * PAGE]);
    unlink(path);
    return 0;
}
