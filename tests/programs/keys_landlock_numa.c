/* keys_landlock_numa: kernel keys (add_key, keyctl describe/read/
 * get_security), Landlock (the ABI version, a ruleset that lets the
 * process read only below a scratch directory, and what open() then
 * answers) and NUMA memory policy (set_mempolicy, get_mempolicy, mbind).
 * Buffers are filled with a guard byte first and printed whole, so a byte
 * the kernel wrote and the recording missed shows in replay. Key serial
 * numbers differ between runs (nondet=1). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "show.h"

static void keys(void)
{
    const char data[] = "rr key payload";
    long key = syscall(SYS_add_key, "user", "rr test key", data, sizeof data, KEY_SPEC_PROCESS_KEYRING);
    if (key < 0) {
        printf("add_key: errno %d\n", errno);
        return;
    }
    printf("add_key: a serial\n");
    result("keyctl SETPERM", syscall(SYS_keyctl, KEYCTL_SETPERM, key, 0x3f3f0000));
    char buf[64];
    memset(buf, '#', sizeof buf);
    long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, buf, sizeof buf);
    result("keyctl DESCRIBE", n);
    /* "user;uid;gid;perm;description": the ids are the run's. */
    const char *desc = n > 0 ? strrchr(buf, ';') : NULL;
    printf("  description: %s\n", desc ? desc + 1 : "?");
    printf("  guard after it: %c\n", n > 0 && n < (long)sizeof buf ? buf[n] : '?');
    memset(buf, '#', sizeof buf);
    n = syscall(SYS_keyctl, KEYCTL_READ, key, buf, sizeof buf);
    result("keyctl READ", n);
    dump("  payload", buf, 24);
    /* Too short: the full length comes back, and at most 4 bytes. */
    memset(buf, '#', sizeof buf);
    n = syscall(SYS_keyctl, KEYCTL_READ, key, buf, 4);
    result("keyctl READ short", n);
    printf("  guard after 4: %c\n", buf[4]);
    memset(buf, '#', sizeof buf);
    n = syscall(SYS_keyctl, KEYCTL_GET_SECURITY, key, buf, sizeof buf);
    printf("keyctl GET_SECURITY: %s\n", n >= 0 ? "answered" : "refused");
    dump("  label", buf, 16);
    result("keyctl INVALIDATE", syscall(SYS_keyctl, KEYCTL_INVALIDATE, key));
}

static void numa(void)
{
    unsigned long mask[64];
    int mode = -1;
    memset(mask, 0xa5, sizeof mask);
    result("get_mempolicy", syscall(SYS_get_mempolicy, &mode, mask, 8 * sizeof mask, NULL, 0));
    printf("  mode %d mask[0] %lx mask[1] %lx mask[63] %lx\n", mode, mask[0], mask[1], mask[63]);
    unsigned long node0 = 1;
    result("set_mempolicy BIND node 0", syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, &node0, 64));
    memset(mask, 0xa5, sizeof mask);
    mode = -1;
    /* 65 bits: the kernel copies one long, the second keeps its guard. */
    result("get_mempolicy 65 bits", syscall(SYS_get_mempolicy, &mode, mask, 65, NULL, 0));
    printf("  mode %d mask[0] %lx mask[1] %lx\n", mode, mask[0], mask[1]);
    result("set_mempolicy DEFAULT", syscall(SYS_set_mempolicy, 0, NULL, 0));
    size_t len = 4 * (size_t)sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        exit(1);
    result("mbind PREFERRED", syscall(SYS_mbind, p, len, 1 /* MPOL_PREFERRED */, NULL, 0, 0));
    memset(p, 1, len);
    printf("  page still holds %d\n", p[len - 1]);
    munmap(p, len);
}

/* Last: the restriction lasts until the process ends. */
static void landlock(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        printf("landlock: errno %d\n", errno);
        return;
    }
    printf("landlock: an ABI version\n");
    /* The version was a number, not a descriptor: stdout still echoes. */
    fflush(stdout);

    char dir[] = "/tmp/keys_landlock.XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    char inside[64];
    snprintf(inside, sizeof inside, "%s/f", dir);
    int fd = open(inside, O_WRONLY | O_CREAT, 0600);
    if (fd < 0 || write(fd, "in", 2) != 2)
        exit(1);
    close(fd);

    struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE};
    int ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    result("landlock_create_ruleset", ruleset >= 0 ? 0 : -1);
    int dirfd = open(dir, O_PATH | O_DIRECTORY);
    struct landlock_path_beneath_attr rule = {.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE, .parent_fd = dirfd};
    result("landlock_add_rule", syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0));
    result("no_new_privs", prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    result("landlock_restrict_self", syscall(SYS_landlock_restrict_self, ruleset, 0));
    close(ruleset);
    close(dirfd);

    fd = open(inside, O_RDONLY);
    printf("read below the rule: %s\n", fd >= 0 ? "allowed" : "denied");
    if (fd >= 0)
        close(fd);
    fd = open("/etc/passwd", O_RDONLY);
    printf("read elsewhere: %s\n", fd >= 0 ? "allowed" : errno == EACCES ? "denied (EACCES)" : "denied");
    if (fd >= 0)
        close(fd);
    unlink(inside);
    rmdir(dir);
}

int main(void)
{
    keys();
    numa();
    landlock();
    printf("done\n");
    return 0;
}
