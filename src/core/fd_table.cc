#include "core/fd_table.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

namespace rr {

namespace {

// Syscalls whose non-negative result is a new descriptor, with the argument
// that carries their close-on-exec flag and the flag's value (-1: none).
struct FdCreator {
  int64_t nr;
  int flags_arg;
  uint64_t cloexec_bit;
};

constexpr FdCreator kFdCreators[] = {
    {SYS_open, 1, O_CLOEXEC},          {SYS_openat, 2, O_CLOEXEC},
    {SYS_creat, -1, 0},                {SYS_openat2, -1, 0},
    {SYS_socket, 1, SOCK_CLOEXEC},     {SYS_accept, -1, 0},
    {SYS_accept4, 3, SOCK_CLOEXEC},    {SYS_epoll_create, -1, 0},
    {SYS_epoll_create1, 0, O_CLOEXEC}, {SYS_eventfd, -1, 0},
    {SYS_eventfd2, 1, O_CLOEXEC},      {SYS_timerfd_create, 1, O_CLOEXEC},
    {SYS_signalfd, -1, 0},             {SYS_signalfd4, 3, O_CLOEXEC},
    {SYS_inotify_init, -1, 0},         {SYS_inotify_init1, 0, O_CLOEXEC},
    {SYS_memfd_create, 1, 1 /* MFD_CLOEXEC */},
    {SYS_fanotify_init, -1, 0},        {SYS_pidfd_open, -1, 0},
    {SYS_open_tree, -1, 0},            {SYS_fsopen, -1, 0},
    {SYS_userfaultfd, -1, 0},          {SYS_perf_event_open, -1, 0},
};

}  // namespace

FdTable::FdTable() {
  set(0, Kind::Stdin, false);
  set(1, Kind::Stdout, false);
  set(2, Kind::Stderr, false);
}

const char* FdTable::kind_name(Kind kind) {
  switch (kind) {
    case Kind::Stdin: return "stdin";
    case Kind::Stdout: return "stdout";
    case Kind::Stderr: return "stderr";
    case Kind::Other: return "other";
  }
  return "?";
}

void FdTable::dup_to(int64_t from, int64_t to, bool cloexec) {
  auto it = fds_.find((int)from);
  Kind kind = it == fds_.end() ? Kind::Other : it->second.kind;
  set((int)to, kind, cloexec);
}

void FdTable::on_syscall(int64_t nr, const uint64_t args[6], int64_t ret, const MemReader& read) {
  if (ret < 0) return;
  for (const FdCreator& c : kFdCreators) {
    if (c.nr != nr) continue;
    bool cloexec = c.flags_arg >= 0 && (args[c.flags_arg] & c.cloexec_bit);
    set((int)ret, Kind::Other, cloexec);
    return;
  }
  switch (nr) {
    case SYS_close:
      fds_.erase((int)args[0]);
      break;
    case SYS_close_range: {
      uint64_t last = args[1];
      for (auto it = fds_.lower_bound((int)args[0]); it != fds_.end() && (uint64_t)it->first <= last;) {
        if (args[2] & 4 /* CLOSE_RANGE_CLOEXEC */) {
          it->second.cloexec = true;
          ++it;
        } else {
          it = fds_.erase(it);
        }
      }
      break;
    }
    case SYS_dup:
      dup_to(args[0], ret, false);
      break;
    case SYS_dup2:
      if (args[0] != args[1]) dup_to(args[0], args[1], false);
      break;
    case SYS_dup3:
      dup_to(args[0], args[1], args[2] & O_CLOEXEC);
      break;
    case SYS_fcntl:
      if (args[1] == F_DUPFD || args[1] == F_DUPFD_CLOEXEC) dup_to(args[0], ret, args[1] == F_DUPFD_CLOEXEC);
      if (args[1] == F_SETFD) {
        auto it = fds_.find((int)args[0]);
        if (it != fds_.end()) it->second.cloexec = args[2] & FD_CLOEXEC;
      }
      break;
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_socketpair: {
      int pair[2];
      RemotePtr where(nr == SYS_socketpair ? args[3] : args[0]);
      bool cloexec = nr == SYS_pipe2 ? (args[1] & O_CLOEXEC) : nr == SYS_socketpair ? (args[1] & SOCK_CLOEXEC) : false;
      if (read(where, pair, sizeof(pair))) {
        set(pair[0], Kind::Other, cloexec);
        set(pair[1], Kind::Other, cloexec);
      }
      break;
    }
    default:
      break;
  }
}

void FdTable::on_exec() {
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.cloexec)
      it = fds_.erase(it);
    else
      ++it;
  }
}

int FdTable::echo_target(int64_t fd) const {
  auto it = fds_.find((int)fd);
  if (it == fds_.end()) return 0;
  if (it->second.kind == Kind::Stdout) return 1;
  if (it->second.kind == Kind::Stderr) return 2;
  return 0;
}

}  // namespace rr
