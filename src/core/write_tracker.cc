#include "core/write_tracker.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/remote_syscalls.h"
#include "core/task.h"
#include "util/fatal.h"

namespace rr {

namespace {

// Features of UFFDIO_API newer than the C library's kernel headers here
// (Linux 6.7): the ABI fixes their numbers.
// A write to a protected page takes the protection off by itself, with no
// message to read: nobody waits on the descriptor.
constexpr uint64_t kFeatureWpAsync = 1ull << 15;
// Lets PAGEMAP_SCAN protect anonymous memory (the kernel reports an
// anonymous mapping as PAGE_IS_WPALLOWED only with it). Holes are never
// protected here (see PageScanner::populated_by_ioctl), so it costs no page
// tables in large sparse reservations.
constexpr uint64_t kFeatureWpUnpopulated = 1ull << 13;

}  // namespace

bool WriteTracker::wanted() {
  const char* v = getenv("RR_WRITE_TRACKING");
  return !(v && strcmp(v, "0") == 0);
}

ScopedFd WriteTracker::make_fd(Task& leader) {
  // UFFD_USER_MODE_ONLY: allowed to every process (the other kind needs
  // CAP_SYS_PTRACE or a sysctl). In asynchronous mode no fault is ever
  // delivered to the descriptor, so faults from the kernel (a syscall
  // writing its output) are resolved the same way.
  int64_t in_tracee;
  {
    RemoteSyscalls rs(leader);
    in_tracee = rs.syscall(SYS_userfaultfd, {(uint64_t)(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY)});
  }
  if (in_tracee < 0) {
    RR_LOG("write tracking: userfaultfd in process %d failed: %s", leader.tid(), strerror((int)-in_tracee));
    return ScopedFd();
  }
  ScopedFd pidfd((int)syscall(SYS_pidfd_open, leader.tid(), 0));
  ScopedFd fd(pidfd.is_open() ? (int)syscall(SYS_pidfd_getfd, pidfd.get(), (int)in_tracee, 0) : -1);
  int taken_errno = errno;
  {
    // The process's descriptor table must end as it was: `rr state`
    // compares it, and the program never made this descriptor.
    RemoteSyscalls rs(leader);
    int64_t closed = rs.syscall(SYS_close, {(uint64_t)in_tracee});
    if (closed < 0) fatal("write tracking: cannot close the userfaultfd made in process " + std::to_string(leader.tid()) +
                          ": " + strerror((int)-closed));
  }
  if (!fd.is_open()) {
    RR_LOG("write tracking: pidfd_getfd from process %d failed: %s", leader.tid(), strerror(taken_errno));
    return ScopedFd();
  }
  uffdio_api api = {};
  api.api = UFFD_API;
  api.features = kFeatureWpAsync | kFeatureWpUnpopulated;
  if (ioctl(fd.get(), UFFDIO_API, &api) != 0) {
    // Before Linux 6.7: no asynchronous write protection; every page is read.
    RR_LOG("write tracking: the kernel has no asynchronous write protection (%s)", strerror(errno));
    unsupported_ = true;
    return ScopedFd();
  }
  return fd;
}

int WriteTracker::register_one(int fd, const MappingRecord& m) {
  uffdio_register reg = {};
  reg.range.start = m.start.as_int();
  reg.range.len = m.end - m.start;
  reg.mode = UFFDIO_REGISTER_MODE_WP;
  return ioctl(fd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

void WriteTracker::register_mappings(Task& leader, const std::vector<MappingRecord>& mappings) {
  if (unsupported_) return;
  std::vector<const MappingRecord*> wanted;
  for (const MappingRecord& m : mappings)
    if (!m.shared && m.backing != Backing::Special) wanted.push_back(&m);
  if (wanted.empty()) return;
  // A descriptor of an image the process left (exec) or of an ended
  // process whose tid came back acts on memory that is gone: it registers
  // nothing, and a new one is made.
  auto it = fds_.find(leader.tid());
  bool fresh = false;
  for (;;) {
    if (it == fds_.end()) {
      ScopedFd fd = make_fd(leader);
      if (!fd.is_open()) return;
      it = fds_.emplace(leader.tid(), std::move(fd)).first;
      fresh = true;
    }
    size_t registered = 0;
    int last_errno = 0;
    for (const MappingRecord* m : wanted) {
      int e = register_one(it->second.get(), *m);
      if (e == 0)
        ++registered;
      else
        last_errno = e;
    }
    if (registered > 0 || fresh) {
      if (registered < wanted.size())
        RR_LOG("write tracking: %zu of %zu mappings of process %d registered (last refusal: %s)", registered, wanted.size(),
               leader.tid(), strerror(last_errno));
      return;
    }
    fds_.erase(it);
    it = fds_.end();
  }
}

void WriteTracker::register_range(pid_t leader, RemotePtr<> start, uint64_t len) {
  auto it = fds_.find(leader);
  if (it == fds_.end() || len == 0) return;
  MappingRecord m;
  m.start = start;
  m.end = start + len;
  register_one(it->second.get(), m);
}

void WriteTracker::forget_all_but(const std::set<pid_t>& live) {
  for (auto it = fds_.begin(); it != fds_.end();) it = live.count(it->first) ? std::next(it) : fds_.erase(it);
}

}  // namespace rr
