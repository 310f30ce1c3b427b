// FdTable: what the engine knows about the tracee's file descriptors,
// derived from syscall results alone, so that recording and replay (which
// opens no files) keep the same table. It decides which writes are echoed
// to the user's terminal in replay: those to descriptors that are copies of
// the original stdout or stderr. What each syscall does to it is the FdEffect
// column of the syscall's row in the table (core/syscall_table.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "util/types.h"

namespace rr {

class FdTable {
 public:
  // SelfMem: a /proc/PID/mem open for writing, the process's own or another
  // recorded one's; what is written through it changes that memory (the
  // recorder records those bytes).
  enum class Kind : uint8_t { Stdin, Stdout, Stderr, Other, SelfMem };
  struct Entry {
    Kind kind = Kind::Other;
    bool cloexec = false;
  };
  using MemReader = std::function<bool(RemotePtr<>, void*, size_t)>;

  FdTable();

  // Updates the task's table `table` after syscall `nr` returned `ret`, as
  // its row's FdEffect says; `read` reads tracee memory (for pipe and
  // socketpair results). Where the call gives the task a table of its own
  // (unshare(CLONE_FILES)), `table` becomes a copy that others no longer share.
  static void on_syscall(std::shared_ptr<FdTable>& table, int64_t nr, const uint64_t args[6], int64_t ret,
                         const MemReader& read);
  // Drops close-on-exec descriptors (after a successful execve).
  void on_exec();

  // 1 or 2 when `fd` writes to the original stdout or stderr, else 0.
  int echo_target(int64_t fd) const;
  // The recording found what the new descriptor `fd` is where the
  // syscalls' results do not say: the original stdout or stderr (pidfd_getfd
  // of one, an open of /dev/stdout or /proc/self/fd/1) or the process's own
  // memory. The trace carries that (SyscallEvent.newFdKind), and recording
  // and replay mark it here alike.
  void mark(int64_t fd, Kind kind);
  Kind kind(int64_t fd) const;
  const std::map<int, Entry>& entries() const { return fds_; }
  void set_entries(std::map<int, Entry> entries) {
    fds_ = std::move(entries);
    changed();
  }
  // Names what the table holds: a new number after every change, never 0,
  // equal only between a table and its unchanged copies. The recorder
  // rewrites what the syscall buffer knows of a task's fds when it moves.
  uint64_t version() const { return version_; }
  static const char* kind_name(Kind kind);

 private:
  // Applies the effect to this table; true when the task leaves it for a copy.
  bool apply(int64_t nr, const uint64_t args[6], int64_t ret, const MemReader& read);
  void set(int fd, Kind kind, bool cloexec) {
    fds_[fd] = Entry{kind, cloexec};
    changed();
  }
  void changed();
  void dup_to(int64_t from, int64_t to, bool cloexec);
  std::map<int, Entry> fds_;
  uint64_t version_ = 0;
};

}  // namespace rr
