/* ioctl_more: file, random-device, network-interface and TUN ioctls that
 * run unprivileged. Each answer lands in a buffer filled with a guard byte
 * first, and the whole buffer is printed: a byte the kernel wrote and the
 * recording missed shows as a guard byte in replay. Values such as the
 * inode generation differ between runs (nondet=1); a replay must print
 * what its recording printed. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/random.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "show.h"

static void file_ioctls(void)
{
    char dir[] = "/tmp/ioctl_more.XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    char path[64];
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    char data[8192];
    memset(data, 'x', sizeof data);
    if (fd < 0 || write(fd, data, sizeof data) != sizeof data || fsync(fd) != 0)
        exit(1);

    long version;
    memset(&version, 0xa5, sizeof version);
    result("FS_IOC_GETVERSION", ioctl(fd, FS_IOC_GETVERSION, &version));
    dump("  version", &version, sizeof version);

    long flags;
    memset(&flags, 0xa5, sizeof flags);
    result("FS_IOC_GETFLAGS", ioctl(fd, FS_IOC_GETFLAGS, &flags));
    dump("  flags", &flags, sizeof flags);

    struct fsxattr xattr;
    memset(&xattr, 0xa5, sizeof xattr);
    result("FS_IOC_FSGETXATTR", ioctl(fd, FS_IOC_FSGETXATTR, &xattr));
    dump("  fsxattr", &xattr, sizeof xattr);

    /* Room for 4 extents and one guard extent after them. */
    union {
        struct fiemap fm;
        char bytes[sizeof(struct fiemap) + 5 * sizeof(struct fiemap_extent)];
    } u;
    memset(&u, 0xa5, sizeof u);
    u.fm.fm_start = 0;
    u.fm.fm_length = FIEMAP_MAX_OFFSET;
    u.fm.fm_flags = FIEMAP_FLAG_SYNC;
    u.fm.fm_extent_count = 4;
    u.fm.fm_mapped_extents = 0;
    u.fm.fm_reserved = 0;
    result("FS_IOC_FIEMAP", ioctl(fd, FS_IOC_FIEMAP, &u.fm));
    printf("  mapped extents: %u\n", u.fm.fm_mapped_extents);
    for (unsigned i = 0; i < 5; ++i) {
        char what[32];
        snprintf(what, sizeof what, "  extent %u", i);
        dump(what, &u.fm.fm_extents[i], sizeof u.fm.fm_extents[i]);
    }
    /* Counting only: no extent is written. */
    memset(&u, 0xa5, sizeof u);
    u.fm.fm_start = 0;
    u.fm.fm_length = FIEMAP_MAX_OFFSET;
    u.fm.fm_flags = 0;
    u.fm.fm_extent_count = 0;
    u.fm.fm_reserved = 0;
    result("FS_IOC_FIEMAP count", ioctl(fd, FS_IOC_FIEMAP, &u.fm));
    dump("  header", &u.fm, sizeof u.fm);
    dump("  extent 0", &u.fm.fm_extents[0], sizeof u.fm.fm_extents[0]);

    close(fd);
    unlink(path);
    rmdir(dir);
}

static void random_ioctls(void)
{
    int fd = open("/dev/random", O_RDONLY);
    if (fd < 0) {
        printf("/dev/random: errno %d\n", errno);
        return;
    }
    int count[2];
    memset(count, 0xa5, sizeof count);
    result("RNDGETENTCNT", ioctl(fd, RNDGETENTCNT, count));
    dump("  count", count, sizeof count);
    close(fd);
}

static void interface_ioctls(void)
{
    int sk = socket(AF_INET, SOCK_DGRAM, 0);
    if (sk < 0)
        exit(1);
    struct ifreq req;
    memset(&req, 0xa5, sizeof req);
    strcpy(req.ifr_name, "lo");
    result("SIOCGIFFLAGS lo", ioctl(sk, SIOCGIFFLAGS, &req));
    printf("  up: %d loopback: %d\n", !!(req.ifr_flags & IFF_UP), !!(req.ifr_flags & IFF_LOOPBACK));
    dump("  ifreq", &req, sizeof req);
    memset(&req, 0xa5, sizeof req);
    strcpy(req.ifr_name, "lo");
    result("SIOCGIFINDEX lo", ioctl(sk, SIOCGIFINDEX, &req));
    dump("  ifreq", &req, sizeof req);
    unsigned long args[3] = {0 /* BRCTL_GET_VERSION */, 0, 0};
    int r = ioctl(sk, SIOCGIFBR, args);
    printf("SIOCGIFBR version: %s\n", r > 0 || (r < 0 && errno == EOPNOTSUPP) ? "answered" : "unexpected");
    close(sk);
}

static void tun_ioctls(void)
{
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0) {
        printf("/dev/net/tun: not available (%s): the TUN ioctls are not checked\n", strerror(errno));
        return;
    }
    unsigned int features[2];
    memset(features, 0xa5, sizeof features);
    result("TUNGETFEATURES", ioctl(fd, TUNGETFEATURES, features));
    dump("  features", features, sizeof features);
    close(fd);
}

int main(void)
{
    file_ioctls();
    random_ioctls();
    interface_ioctls();
    tun_ioctls();
    printf("done\n");
    return 0;
}
