#include "core/pid_namespace.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/sched.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/fatal.h"

namespace rr {

namespace {

// pid 1 of the namespace: orphans are reparented to it; ignoring SIGCHLD
// lets the kernel reap them. It has nothing else to do.
[[noreturn]] void init_main() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGCHLD, SIG_IGN);
  syscall(SYS_close_range, 0, ~0u, 0);
  for (;;) pause();
}

}  // namespace

PidNamespace* PidNamespace::get() {
  static PidNamespace* ns = [] {
    const char* off = getenv("RR_NO_PIDNS");
    if (off && strcmp(off, "1") == 0) return (PidNamespace*)nullptr;
    auto* p = new PidNamespace();
    if (!p->start()) {
      delete p;
      return (PidNamespace*)nullptr;
    }
    return p;
  }();
  return ns;
}

bool PidNamespace::start() {
  outer_ = ScopedFd(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!outer_.is_open()) return false;
  long pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return false;
  if (pid == 0) init_main();
  init_ = (pid_t)pid;
  inner_ = ScopedFd(open(("/proc/" + std::to_string(pid) + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
  if (!inner_.is_open()) {
    kill(init_, SIGKILL);
    waitpid(init_, nullptr, 0);
    return false;
  }
  return true;
}

pid_t PidNamespace::fork_as(pid_t want) {
  if (setns(inner_.get(), CLONE_NEWPID) != 0) return -1;
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.exit_signal = SIGCHLD;
  pid_t tid = want;
  if (want > 1) {
    args.set_tid = (uint64_t)(uintptr_t)&tid;
    args.set_tid_size = 1;
  }
  long r = syscall(SYS_clone3, &args, sizeof(args));
  if (r < 0 && args.set_tid_size) {
    // Taken (a task of ours that has not been reaped yet): any tid will
    // do; replay translates tids where they differ.
    args.set_tid = 0;
    args.set_tid_size = 0;
    r = syscall(SYS_clone3, &args, sizeof(args));
  }
  if (r == 0) return 0;
  int saved = errno;
  // Threads cannot be created while our children's namespace is not ours.
  if (setns(outer_.get(), CLONE_NEWPID) != 0) fatal_errno("cannot return to the supervisor's PID namespace");
  if (r < 0 && saved == ENOSYS) return fork();  // no clone3: outside the namespace, tids translated
  errno = saved;
  return (pid_t)r;
}

pid_t PidNamespace::inner_tid(pid_t live) {
  std::ifstream in("/proc/" + std::to_string(live) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, 6, "NSpid:") != 0) continue;
    std::istringstream fields(line.substr(6));
    pid_t last = 0, v;
    while (fields >> v) last = v;
    return last;
  }
  return 0;
}

}  // namespace rr
