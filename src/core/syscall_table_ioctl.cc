// ioctl's row of the syscall table: which tracee memory each request the
// recorder knows makes the kernel write. A request is a number a driver
// chose; its _IOC size bits say what the request was declared with, not
// what the kernel copies out (TUNGETIFF is declared with an unsigned int and
// stores a whole struct ifreq; FS_IOC_GETFLAGS is declared with a long and
// stores an int), so every request is a row of its own here, with the bytes
// the kernel's handler writes, and a request not here stops recording.
#include <asm/termbits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kd.h>
#include <linux/perf_event.h>
#include <linux/random.h>
#include <linux/serial.h>
#include <linux/sockios.h>
#include <linux/vt.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "core/syscall_custom.h"
#include "core/syscall_table.h"

namespace rr::syscall_custom {
namespace {

// Whether every page of [addr, addr + len) can be read; probes one byte a
// page, so that a stale length in a failed call's struct costs nothing.
bool readable(SyscallMemReader& mem, uint64_t addr, uint64_t len) {
  char byte;
  for (uint64_t at = addr; at < addr + len; at = (at | 4095) + 1) {
    if (!mem.read(RemotePtr<>(at), &byte, 1)) return false;
  }
  return len == 0 || mem.read(RemotePtr<>(addr + len - 1), &byte, 1);
}

// The handlers that write more than a fixed size. They are called whatever
// the result, as FS_IOC_FIEMAP writes on failure too.
using IoctlFn = std::string (*)(const SyscallArgs&, SyscallMemReader&, Out&);

static_assert(sizeof(struct fiemap) == 32 && sizeof(struct fiemap_extent) == 56);

// FS_IOC_FIEMAP: once the file system has been asked, the kernel stores the
// header back whatever its answer (fm_flags, and fm_mapped_extents, the
// number of extents it filled in, in order, into the array after the
// header; with fm_extent_count 0 it only counts them). A call that failed
// before that leaves the header as the program wrote it, and recording it
// then is harmless.
std::string fiemap(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  struct fiemap header;
  if (!mem.read(RemotePtr<>(c.arg[2]), &header, sizeof header)) return {};
  add(out, c.arg[2], sizeof header);
  uint64_t filled = header.fm_extent_count == 0 ? 0 : std::min(header.fm_mapped_extents, header.fm_extent_count);
  uint64_t len = filled * sizeof(struct fiemap_extent);
  uint64_t extents = c.arg[2] + sizeof header;
  if (!c.failed() || readable(mem, extents, len)) add(out, extents, len);
  return {};
}

// The old bridge interface (SIOCGIFBR), an array of three longs: an
// operation and its two arguments. Only BRCTL_GET_BRIDGES writes: `ret`
// interface indices (ints) at the second long.
constexpr uint64_t kBrctlGetVersion = 0, kBrctlGetBridges = 1, kBrctlAddBridge = 2, kBrctlDelBridge = 3;

std::string old_bridge(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  if (c.failed()) return {};
  uint64_t args[3];
  if (!mem.read(RemotePtr<>(c.arg[2]), args, sizeof args)) return "SIOCGIFBR's arguments cannot be read back";
  switch (args[0]) {
    case kBrctlGetVersion:
    case kBrctlAddBridge:
    case kBrctlDelBridge:
      return {};
    case kBrctlGetBridges:
      add(out, args[1], static_cast<uint64_t>(c.ret) * sizeof(int));
      return {};
  }
  return "ioctl SIOCGIFBR operation " + std::to_string(args[0]) + " is not supported yet";
}

struct IoctlRequest {
  uint32_t request;
  uint32_t writes;         // bytes written at the argument pointer on success
  IoctlFn custom = nullptr;  // instead of `writes`
};

// The kernel's structures these requests store, x86-64.
constexpr uint32_t kIfreq = sizeof(struct ifreq);
constexpr uint32_t kSockFprog = 16;  // struct sock_fprog: a u16 length and a pointer
constexpr uint32_t kFsxattr = sizeof(struct fsxattr);
constexpr uint32_t kSerialIcounter = sizeof(struct serial_icounter_struct);
constexpr uint32_t kVtStat = sizeof(struct vt_stat);
static_assert(kIfreq == 40 && kFsxattr == 28 && kSerialIcounter == 80 && kVtStat == 6);
static_assert(_IOC_SIZE(TUNGETFILTER) == kSockFprog);

constexpr IoctlRequest kIoctls[] = {
    // Terminal attributes: the kernel's termios, not libc's larger one.
    {TCGETS, sizeof(struct termios)},
    {TCSETS, 0},
    {TCSETSW, 0},
    {TCSETSF, 0},
    {TCGETS2, sizeof(struct termios2)},
    {TCSETS2, 0},
    {TCSETSW2, 0},
    {TCSETSF2, 0},
    {TCGETA, sizeof(struct termio)},
    {TCSETA, 0},
    {TCSETAW, 0},
    {TCSETAF, 0},
    {TCSBRK, 0},
    {TCSBRKP, 0},
    {TCXONC, 0},
    {TCFLSH, 0},
    {TIOCGWINSZ, sizeof(struct winsize)},
    {TIOCSWINSZ, 0},
    // Terminal control.
    {TIOCGPGRP, sizeof(pid_t)},
    {TIOCSPGRP, 0},
    {TIOCGSID, sizeof(pid_t)},
    {TIOCSCTTY, 0},
    {TIOCNOTTY, 0},
    {TIOCEXCL, 0},
    {TIOCNXCL, 0},
    {TIOCGEXCL, sizeof(int)},
    {TIOCOUTQ, sizeof(int)},
    {TIOCSTI, 0},
    {TIOCMGET, sizeof(int)},
    {TIOCMSET, 0},
    {TIOCMBIS, 0},
    {TIOCMBIC, 0},
    {TIOCGETD, sizeof(int)},
    {TIOCSETD, 0},
    {TIOCPKT, 0},
    {TIOCGPKT, sizeof(int)},
    {TIOCSIG, 0},
    {TIOCVHANGUP, 0},
    // Serial ports: interrupt counters and the line status register.
    {TIOCGICOUNT, kSerialIcounter},
    {TIOCSERGETLSR, sizeof(unsigned int)},
    // Virtual consoles: a free console's number, the console state, the
    // keyboard mode (an int, whatever the mode's type).
    {VT_OPENQRY, sizeof(int)},
    {VT_GETSTATE, kVtStat},
    {KDGKBMODE, sizeof(int)},
    // Pseudo-terminals.
    {TIOCGPTN, sizeof(unsigned int)},
    {TIOCSPTLCK, 0},
    {TIOCGPTLCK, sizeof(int)},
    {TIOCGPTPEER, 0},
    // Any file descriptor.
    {FIONREAD, sizeof(int)},
    {FIONBIO, 0},
    {FIOASYNC, 0},
    {FIOCLEX, 0},
    {FIONCLEX, 0},
    {FIOQSIZE, sizeof(loff_t)},
    // Files: the generation and the flags are declared long and stored as
    // an int by every file system that answers them.
    {FS_IOC_GETVERSION, sizeof(int)},
    {FS_IOC_GETFLAGS, sizeof(int)},
    {FS_IOC_FSGETXATTR, kFsxattr},
    {FS_IOC_FIEMAP, 0, fiemap},
    // The random device's entropy count.
    {RNDGETENTCNT, sizeof(int)},
    // Network interfaces, on any socket. The getters store the whole ifreq
    // back; the setters, the bridge and the route requests only read (where
    // the kernel copies an ifreq back unchanged, the bytes are the ones the
    // program holds, in replay as well).
    {SIOCGIFFLAGS, kIfreq},
    {SIOCGIFINDEX, kIfreq},
    {SIOCSIFFLAGS, 0},
    {SIOCSIFADDR, 0},
    {SIOCSIFNETMASK, 0},
    {SIOCADDRT, 0},
    {SIOCDELRT, 0},
    {SIOCBRADDBR, 0},
    {SIOCBRDELBR, 0},
    {SIOCBRADDIF, 0},
    {SIOCBRDELIF, 0},
    {SIOCGIFBR, 0, old_bridge},
    // TUN/TAP devices. TUNSETIFF stores the ifreq back with the name the
    // kernel chose; TUNGETFILTER stores the sock_fprog header only.
    {TUNGETFEATURES, sizeof(unsigned int)},
    {TUNSETIFF, kIfreq},
    {TUNGETIFF, kIfreq},
    {TUNGETSNDBUF, sizeof(int)},
    {TUNGETVNETHDRSZ, sizeof(int)},
    {TUNDETACHFILTER, 0},
    {TUNGETFILTER, kSockFprog},
    // perf_event_open's descriptors: the counter's controls, and its id.
    {PERF_EVENT_IOC_ENABLE, 0},
    {PERF_EVENT_IOC_DISABLE, 0},
    {PERF_EVENT_IOC_REFRESH, 0},
    {PERF_EVENT_IOC_RESET, 0},
    {PERF_EVENT_IOC_PERIOD, 0},
    {PERF_EVENT_IOC_SET_OUTPUT, 0},
    {PERF_EVENT_IOC_SET_FILTER, 0},
    {PERF_EVENT_IOC_ID, sizeof(uint64_t)},
    {PERF_EVENT_IOC_SET_BPF, 0},
    {PERF_EVENT_IOC_PAUSE_OUTPUT, 0},
};
static_assert(sizeof(struct termios) == 36 && sizeof(struct termios2) == 44);
static_assert(sizeof(struct termio) == 18 && sizeof(struct winsize) == 8);

consteval bool requests_unique() {
  for (size_t i = 0; i < std::size(kIoctls); ++i)
    for (size_t j = i + 1; j < std::size(kIoctls); ++j)
      if (kIoctls[i].request == kIoctls[j].request) return false;
  return true;
}
static_assert(requests_unique(), "two rows for one ioctl request");

}  // namespace

std::string ioctl(const SyscallArgs& c, SyscallMemReader& mem, Out& out) {
  // The kernel takes the request as an unsigned int.
  uint32_t request = static_cast<uint32_t>(c.arg[1]);
  const IoctlRequest* row = std::find_if(std::begin(kIoctls), std::end(kIoctls),
                                         [&](const IoctlRequest& r) { return r.request == request; });
  if (row == std::end(kIoctls)) {
    // A request the kernel refused wrote nothing.
    if (c.failed()) return {};
    char msg[64];
    std::snprintf(msg, sizeof msg, "ioctl request 0x%x is not supported yet", request);
    return msg;
  }
  if (row->custom != nullptr) return row->custom(c, mem, out);
  if (!c.failed()) add(out, c.arg[2], row->writes);
  return {};
}

}  // namespace rr::syscall_custom
