/* buffered_fcntl: what a directory walk (grep -r, find, fts) does at every
 * directory and file, which the syscall buffer takes without a ptrace stop
 * (docs/syscall-buffer.md, "The fd gate"): opens relative to a directory
 * descriptor with O_NOCTTY|O_NONBLOCK|O_NOFOLLOW, fcntl's F_GETFL, F_GETFD
 * and F_SETFD, and F_DUPFD_CLOEXEC, whose duplicate is read, its directory
 * listed, and closed; an open of a file that is not there; readlink,
 * readlinkat, access and faccessat (a compiler driver's lookups). Then a child execs itself: the descriptors made
 * close-on-exec by buffered calls are gone there and the others are not,
 * so the fd tables the recorder and replay keep followed the buffered
 * F_SETFD and F_DUPFD_CLOEXEC (rr state compares them too). Prints only
 * what does not change between runs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];

static int open_flags(int fd) { return fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK | O_NOFOLLOW | O_DIRECTORY); }

/* What a walk does to one file: open it under its directory, look at its
 * flags, make a close-on-exec duplicate, read through the duplicate. */
static long visit(int dirfd, const char* name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    int flags = open_flags(fd);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    char buf[64];
    long n = dup >= 10 ? read(dup, buf, sizeof buf) : -2;
    long s = n;
    for (long i = 0; i < n; i++) s = s * 31 + buf[i];
    close(dup);
    close(fd);
    return flags == (O_RDONLY | O_NONBLOCK | O_NOFOLLOW) ? s : -3;
}

int main(int argc, char** argv)
{
    if (argc == 3) {
        /* The exec'ed child: which of the two descriptors survived. */
        int kept = fcntl(atoi(argv[1]), F_GETFD);
        int gone = fcntl(atoi(argv[2]), F_GETFD);
        printf("after exec: kept %d, gone %d\n", kept >= 0, gone < 0);
        return 0;
    }
    snprintf(dir, sizeof dir, "/tmp/buffered_fcntl.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char path[128];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        FILE* f = fopen(path, "w");
        if (!f) return 1;
        fprintf(f, "file %d says %d\n", i, i * i * 1009);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/link", dir);
    if (symlink("f0", path) != 0) return 1;

    /* One stretch from here: the write to stdout is the event before it. */
    printf("files: 5\n");
    fflush(stdout);
    int dirfd = open(dir, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    int dflags = open_flags(dirfd);
    int cloexec = fcntl(dirfd, F_GETFD);
    int set = fcntl(dirfd, F_SETFD, 0);
    int cleared = fcntl(dirfd, F_GETFD);
    printf("dir: %d %d %d %d %d\n", dirfd >= 0, dflags == (O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_DIRECTORY),
           cloexec, set, cleared);

    long total = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "f%d", i);
        long v = visit(dirfd, path);
        printf("f%d: %ld\n", i, v);
        total += v;
    }
    /* The listing through a duplicate of the directory. */
    int listfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    DIR* d = fdopendir(listfd);
    int entries = 0;
    for (struct dirent* e; d && (e = readdir(d));) entries += e->d_name[0] == 'f';
    if (d) closedir(d);
    printf("entries: %d, total %ld\n", entries, total);
    fflush(stdout);
    printf("missing: %ld\n", visit(dirfd, "missing"));
    fflush(stdout);
    /* What a compiler driver does to find itself and its programs. */
    char target[64];
    snprintf(path, sizeof path, "%s/link", dir);
    long at_len = readlinkat(dirfd, "link", target, sizeof target);
    long len = readlink(path, target, sizeof target);
    snprintf(path, sizeof path, "%s/f1", dir);
    int can = access(path, R_OK);
    int cannot = faccessat(dirfd, "nothere", F_OK, 0);
    printf("links: %ld %ld %.*s, access %d %d\n", at_len, len, len > 0 ? (int)len : 0, target, can, cannot);

    /* A descriptor left open (F_SETFD 0 above) and one close-on-exec. */
    int gone = fcntl(dirfd, F_DUPFD_CLOEXEC, 20);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", dirfd);
        snprintf(b, sizeof b, "%d", gone);
        execl("/proc/self/exe", argv[0], a, b, (char*)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    printf("child: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    close(gone);
    close(dirfd);
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/f%d", dir, i);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/link", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}
