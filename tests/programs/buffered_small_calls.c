/* buffered_small_calls: calls that only ask or change only names, which
 * the syscall buffer takes (docs/syscall-buffer.md, "Calls that only ask,
 * and names"): a signal's action asked
 * without setting one (through sigaction and through syscall(), for signal
 * numbers and mask sizes the kernel refuses too, whose answer must leave the
 * program's bytes as they were), isatty and tcgetattr of a regular file and
 * of a directory, a folder and files made, renamed and removed (each way,
 * and ones that fail), and the process's ids. Actions set in between stay traced
 * and change what the queries answer. A traced getppid ends each group, so
 * that `rr dump` lists each group's buffered calls apart. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* The kernel's struct sigaction on x86-64. */
struct kernel_action {
    uint64_t handler, flags, restorer, mask;
};

static void on_signal(int sig) { (void)sig; }

static void end_group(void) { syscall(SYS_getppid); }

/* What the program prints, kept until the end: a write to stdout is a
 * traced call, which would split the groups. */
static char report[4096];
#define say(...) snprintf(report + strlen(report), sizeof report - strlen(report), __VA_ARGS__)

/* What the action of `sig` is, as sigaction reports it. */
static const char* action_of(int sig, unsigned long* flags)
{
    struct sigaction old;
    memset(&old, 0x5a, sizeof old);
    if (sigaction(sig, NULL, &old) != 0) return "error";
    *flags = (unsigned long)old.sa_flags & (SA_RESTART | SA_SIGINFO | SA_NODEFER | SA_RESETHAND);
    if (old.sa_handler == SIG_DFL) return "default";
    if (old.sa_handler == SIG_IGN) return "ignored";
    return old.sa_handler == on_signal ? "on_signal" : "other";
}

static void raw_query(int sig, size_t mask_size)
{
    struct kernel_action k;
    memset(&k, 0xa5, sizeof k);
    long r = syscall(SYS_rt_sigaction, sig, NULL, &k, mask_size);
    int untouched = 1;
    for (size_t i = 0; i < sizeof k; i++) untouched &= ((unsigned char*)&k)[i] == 0xa5;
    say("raw query of %d (mask %zu bytes): %ld%s, bytes %s\n", sig, mask_size, r, r ? (errno == EINVAL ? " EINVAL" : " ?") : "",
           untouched ? "untouched" : "written");
    if (r == 0)
        say("  handler %s, mask has SIGUSR2 %d\n", k.handler == (uint64_t)(uintptr_t)on_signal ? "on_signal" : "not ours",
               (int)((k.mask >> (SIGUSR2 - 1)) & 1));
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) return 1;
    signal(SIGPIPE, SIG_IGN);

    /* One group: the raw queries, those the kernel refuses among them. */
    raw_query(SIGUSR1, 8);
    raw_query(0, 8);
    raw_query(65, 8);
    raw_query(SIGUSR1, 4);
    end_group();

    /* Every signal sigaction accepts, before and after a change. */
    int counts[3] = {0, 0, 0};
    unsigned long flags_sum = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        unsigned long flags = 0;
        const char* a = action_of(sig, &flags);
        counts[a[0] == 'd' ? 0 : a[0] == 'i' ? 1 : 2]++;
        flags_sum += flags;
    }
    say("actions: %d default, %d ignored, %d other; flags %#lx\n", counts[0], counts[1], counts[2], flags_sum);
    end_group();
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    if (sigaction(SIGUSR1, &sa, NULL) != 0) return 1;
    signal(SIGPIPE, SIG_DFL);
    unsigned long flags = 0;
    const char* usr1 = action_of(SIGUSR1, &flags);
    unsigned long usr1_flags = flags;
    const char* pipe_action = action_of(SIGPIPE, &flags);
    say("SIGUSR1 now %s, flags %#lx; SIGPIPE now %s\n", usr1, usr1_flags, pipe_action);
    end_group();

    /* isatty and tcgetattr of a file and a directory: never terminals. */
    char dir[] = "/tmp/rr-buffered-queries-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[64];
    snprintf(path, sizeof path, "%s/file", dir);
    int file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    int d = open(dir, O_RDONLY | O_DIRECTORY);
    if (file < 0 || d < 0) return 1;
    struct termios t;
    memset(&t, 0x33, sizeof t);
    int tty_file = isatty(file), e1 = errno;
    int tty_dir = isatty(d), e2 = errno;
    int got = tcgetattr(file, &t), e3 = errno;
    int untouched = 1;
    for (size_t i = 0; i < sizeof t; i++) untouched &= ((unsigned char*)&t)[i] == 0x33;
    end_group();
    say("isatty: file %d (%s), directory %d (%s); tcgetattr %d (%s), termios %s\n", tty_file, strerror(e1), tty_dir,
           strerror(e2), got, strerror(e3), untouched ? "untouched" : "written");
    close(file);
    end_group();

    /* Names made, moved and removed, and ones the kernel refuses. */
    char sub[80], moved[80];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(moved, sizeof moved, "%s/moved", dir);
    int r[12];
    r[0] = mkdir(sub, 0700);
    r[1] = mkdir(sub, 0700) == -1 ? -errno : 0;
    r[2] = mkdirat(d, "sub2", 0700);
    r[3] = rename(path, moved);
    r[4] = renameat(d, "moved", d, "other");
    r[5] = renameat2(d, "other", d, "sub2", RENAME_NOREPLACE) == -1 ? -errno : 0;
    r[6] = unlink(path) == -1 ? -errno : 0;
    r[7] = unlinkat(d, "other", 0);
    r[8] = unlinkat(d, "sub2", AT_REMOVEDIR);
    r[9] = rmdir(sub);
    r[10] = rmdir(sub) == -1 ? -errno : 0;
    r[11] = access(moved, F_OK) == -1 ? -errno : 0;
    end_group();
    say("names:");
    for (int i = 0; i < 12; i++) say(" %d", r[i]);
    say("\n");
    close(d);
    rmdir(dir);

    /* The ids, as /proc says them. */
    uid_t uid = getuid(), euid = geteuid();
    gid_t gid = getgid(), egid = getegid();
    end_group();
    FILE* status = fopen("/proc/self/status", "r");
    char line[256];
    unsigned ruid = ~0u, reuid = ~0u, rgid = ~0u, regid = ~0u;
    while (status && fgets(line, sizeof line, status)) {
        sscanf(line, "Uid: %u %u", &ruid, &reuid);
        sscanf(line, "Gid: %u %u", &rgid, &regid);
    }
    if (status) fclose(status);
    say("ids match /proc: uid %d euid %d gid %d egid %d\n", uid == ruid, euid == reuid, gid == rgid, egid == regid);
    fputs(report, stdout);
    puts("EXIT-SUCCESS");
    return 0;
}
