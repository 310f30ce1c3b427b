#include "core/fd_table.h"

#include <fcntl.h>
#include <sched.h>

#include <atomic>

#include "core/syscall_table.h"

namespace rr {

FdTable::FdTable() {
  set(0, Kind::Stdin, false);
  set(1, Kind::Stdout, false);
  set(2, Kind::Stderr, false);
}

void FdTable::changed() {
  static std::atomic<uint64_t> last{0};
  version_ = ++last;
}

const char* FdTable::kind_name(Kind kind) {
  switch (kind) {
    case Kind::Stdin: return "stdin";
    case Kind::Stdout: return "stdout";
    case Kind::Stderr: return "stderr";
    case Kind::Other: return "other";
    case Kind::SelfMem: return "self-mem";
  }
  return "?";
}

void FdTable::dup_to(int64_t from, int64_t to, bool cloexec) {
  auto it = fds_.find((int)from);
  Kind kind = it == fds_.end() ? Kind::Other : it->second.kind;
  set((int)to, kind, cloexec);
}

void FdTable::on_syscall(std::shared_ptr<FdTable>& table, int64_t nr, const uint64_t args[6], int64_t ret,
                         const MemReader& read) {
  if (table->apply(nr, args, ret, read)) table = std::make_shared<FdTable>(*table);
}

bool FdTable::apply(int64_t nr, const uint64_t args[6], int64_t ret, const MemReader& read) {
  const SyscallDesc* desc = syscall_desc(nr);
  if (ret < 0 || desc == nullptr) return false;
  const FdEffect& e = desc->fds;
  bool cloexec = e.flags >= 0 ? (args[e.flags] & e.cloexec) != 0 : e.cloexec != 0;
  uint64_t fd = e.arg >= 0 ? args[e.arg] : 0;
  switch (e.op) {
    case FdOp::None:
      break;
    case FdOp::NewInResult:
      if (e.new_fd_in_result(args)) set((int)ret, Kind::Other, cloexec);
      break;
    case FdOp::NewPairAt: {
      int pair[2];
      if (read(RemotePtr<>(fd), pair, sizeof(pair))) {
        set(pair[0], Kind::Other, cloexec);
        set(pair[1], Kind::Other, cloexec);
      }
      break;
    }
    case FdOp::Close:
      if (fds_.erase((int)fd)) changed();
      break;
    case FdOp::CloseRange: {
      uint64_t last = args[e.arg + 1];
      bool only_mark = args[e.arg + 2] & 4 /* CLOSE_RANGE_CLOEXEC */;
      for (auto it = fds_.lower_bound((int)fd); it != fds_.end() && (uint64_t)it->first <= last;) {
        if (only_mark) {
          it->second.cloexec = true;
          ++it;
        } else {
          it = fds_.erase(it);
        }
        changed();
      }
      break;
    }
    case FdOp::DupToResult:
      dup_to(fd, ret, cloexec);
      break;
    case FdOp::DupToArg:
      // dup2 onto itself changes nothing, not even close-on-exec.
      if (fd != args[e.arg + 1]) dup_to(fd, args[e.arg + 1], cloexec);
      break;
    case FdOp::Fcntl: {
      uint64_t cmd = args[e.arg + 1];
      if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) dup_to(fd, ret, cmd == F_DUPFD_CLOEXEC);
      if (cmd == F_SETFD) {
        auto it = fds_.find((int)fd);
        if (it != fds_.end()) {
          it->second.cloexec = args[e.arg + 2] & FD_CLOEXEC;
          changed();
        }
      }
      // The status flags (O_DIRECT, O_NONBLOCK...) decide whether the
      // syscall buffer may take its reads and writes: the recorder looks
      // at the descriptor again.
      if (cmd == F_SETFL && ret == 0 && fds_.count((int)fd)) changed();
      break;
    }
    case FdOp::Unshare:
      return (args[e.arg] & CLONE_FILES) != 0;
  }
  return false;
}

void FdTable::on_exec() {
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.cloexec) {
      it = fds_.erase(it);
      changed();
    } else
      ++it;
  }
}

void FdTable::mark(int64_t fd, Kind kind) {
  auto it = fds_.find((int)fd);
  bool cloexec = it != fds_.end() && it->second.cloexec;
  set((int)fd, kind, cloexec);
}

FdTable::Kind FdTable::kind(int64_t fd) const {
  auto it = fds_.find((int)fd);
  return it == fds_.end() ? Kind::Other : it->second.kind;
}

int FdTable::echo_target(int64_t fd) const {
  auto it = fds_.find((int)fd);
  if (it == fds_.end()) return 0;
  if (it->second.kind == Kind::Stdout) return 1;
  if (it->second.kind == Kind::Stderr) return 2;
  return 0;
}

}  // namespace rr
