// PidNamespace: a private PID namespace replay runs its tracees in, so that
// every task can have the tid it had when recorded (docs/architecture.md, "Determinism").
// Its pid 1 is a small init of ours that only reaps orphans; it dies with
// the supervisor. Tasks are created inside it with clone3's set_tid.
//
// Replay and restore use one namespace (root()). An in-memory clone of a
// replay (ReplaySession::clone) forks the tracees while the originals keep
// their tids, so its processes go into a namespace nested in the source's
// (nested_in()), where the recorded tids are free again.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class PidNamespace {
 public:
  // The kernel's limit on nesting (MAX_PID_NS_LEVEL); the supervisor's own
  // namespace is level 0 here.
  static constexpr int kMaxLevel = 32;

  // The namespace of this supervisor, created on first use and kept until
  // it exits; nullptr when this machine or user cannot have one (no
  // CAP_SYS_ADMIN), or when RR_NO_PIDNS=1 asks for tid translation instead
  // (for tests).
  static std::shared_ptr<PidNamespace> root();

  // A new namespace inside `parent`, with an init of its own. It keeps its
  // parent alive (a namespace ends with its init, and takes every namespace
  // inside it along). Fails past kMaxLevel or without the right to create one.
  static Result<std::shared_ptr<PidNamespace>> nested_in(const std::shared_ptr<PidNamespace>& parent);

  // Ends the init, and with it whatever is left inside (nothing, when the
  // sessions that used it have reaped their tasks first).
  ~PidNamespace();
  PidNamespace(const PidNamespace&) = delete;
  PidNamespace& operator=(const PidNamespace&) = delete;

  // Forks this (single-threaded at that moment) supervisor thread into the
  // namespace, as the process `want` there when that tid is free. Returns
  // as fork() does: 0 in the child, the child's pid (as the supervisor
  // sees it) in the parent, -1 with errno on failure.
  pid_t fork_as(pid_t want);

  // Forks this (single-threaded at that moment) supervisor thread into
  // the PID namespace `ns_fd` names (one nested below ours: a program's),
  // with the tids `set_tid` (innermost namespace first, ours left to the
  // kernel) when they are free, else any. Returns as fork() does.
  static pid_t fork_into(int ns_fd, const std::vector<pid_t>& set_tid);

  // The file a tracee opens to enter this namespace with setns().
  std::string ns_path() const { return "/proc/" + std::to_string(init_) + "/ns/pid"; }
  int level() const { return level_; }

  // The tid a live task (supervisor's view) has inside its namespace, or 0.
  static pid_t inner_tid(pid_t live);
  // The NSpid line of a live task's /proc/TID/status: its tid in the
  // namespace of our /proc first, then in each namespace nested below it,
  // the task's own last. Empty when the task is gone.
  static std::vector<pid_t> ns_tids(pid_t live);
  // Whether a live task belongs to the first process (pid 1) of a PID
  // namespace nested below ours: the NStgid line of its /proc/TID/status.
  // That process ends only after every other task of its namespace is
  // gone (the kernel kills them), so its end must not be waited for while
  // a tracer still has to release those.
  static bool in_ns_init_process(pid_t live);
  // The inode of a live task's PID namespace (/proc/TID/ns/pid), 0 when it is gone.
  static uint64_t inode_of(pid_t live);
  // The inodes of a live task's PID namespace and of each one above it, up
  // to ours, ordered as ns_tids() (ours first): `levels` entries, or empty
  // when the task is gone or the chain cannot be read.
  static std::vector<uint64_t> ns_chain(pid_t live, size_t levels);

 private:
  PidNamespace() = default;
  // Starts the init in a new namespace under `parent` (nullptr: under the
  // supervisor's own).
  bool start(PidNamespace* parent);
  bool start_nested(PidNamespace& parent);
  pid_t init_ = 0;
  int level_ = 1;
  bool owns_init_ = false;  // nested namespaces end their init; root's lives as long as we do
  ScopedFd inner_;  // /proc/<init>/ns/pid
  ScopedFd outer_;  // the supervisor's own
  std::shared_ptr<PidNamespace> parent_;
};

}  // namespace rr
