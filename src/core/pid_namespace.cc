#include "core/pid_namespace.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <sched.h>
#include <sstream>
#include <string>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// The read end of a pipe whose write end only this supervisor process
// holds (close-on-exec, and every process it forks without exec closes it
// first): it reads end-of-file once the supervisor is gone, however it
// went, which a parent-death signal cannot promise (it follows the thread
// that forked, and is lost when the parent dies before it is set).
int supervisor_gone_fd() {
  static const int fd = [] {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) fatal_errno("pipe2");
    return fds[0];  // fds[1] stays open, unused, until this process ends
  }();
  return fd;
}

// pid 1 of the namespace: orphans are reparented to it; ignoring SIGCHLD
// lets the kernel reap them. It ends when the supervisor does, and with it
// everything left in the namespace.
[[noreturn]] void init_main(int gone_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  signal(SIGCHLD, SIG_IGN);
  if (gone_fd > 0) syscall(SYS_close_range, 0, gone_fd - 1, 0);
  syscall(SYS_close_range, gone_fd + 1, ~0u, 0);
  for (;;) {
    char c;
    ssize_t n = read(gone_fd, &c, 1);
    if (n == 0 || (n < 0 && errno != EINTR)) _exit(0);
  }
}

// Inits of nested namespaces that were told to end, not yet reaped.
std::vector<pid_t>& ended_inits() {
  static auto* list = new std::vector<pid_t>();
  return *list;
}

void reap_ended_inits() {
  std::erase_if(ended_inits(), [](pid_t p) {
    pid_t r = waitpid(p, nullptr, WNOHANG);
    return r == p || (r < 0 && errno == ECHILD);
  });
}

}  // namespace

namespace {

pid_t root_init = 0;
pid_t root_creator = 0;

// At the supervisor's exit: ends the root namespace's init and reaps it
// (and nested inits already told to end), so that no process of ours is
// left, not even as a zombie for pid 1 to collect. Forked children leave
// with _exit and never get here. Bounded: a task inside the namespace
// that is still ours to reap is reaped on the way.
void end_root_namespace() {
  if (root_init <= 0 || getpid() != root_creator) return;
  kill(root_init, SIGKILL);
  for (pid_t p : ended_inits()) kill(p, SIGKILL);
  for (int i = 0; i < 2000; ++i) {
    pid_t r = waitpid(-1, nullptr, WNOHANG | __WALL);
    if (r == root_init) root_init = 0;
    if (r < 0 && errno == ECHILD) break;
    if (r == 0) {
      if (root_init == 0) break;
      usleep(1000);
    }
  }
}

}  // namespace

std::shared_ptr<PidNamespace> PidNamespace::root() {
  // Never destroyed: the supervisor's forked children must not end it on
  // their way out; the supervisor ends it at exit (end_root_namespace), and
  // the init ends by itself when the supervisor dies.
  static auto* ns = new std::shared_ptr<PidNamespace>([] {
    const char* off = getenv("RR_NO_PIDNS");
    if (off && strcmp(off, "1") == 0) return std::shared_ptr<PidNamespace>();
    std::shared_ptr<PidNamespace> p(new PidNamespace());
    if (!p->start(nullptr)) return std::shared_ptr<PidNamespace>();
    root_init = p->init_;
    root_creator = getpid();
    atexit(end_root_namespace);
    return p;
  }());
  return *ns;
}

Result<std::shared_ptr<PidNamespace>> PidNamespace::nested_in(const std::shared_ptr<PidNamespace>& parent) {
  reap_ended_inits();
  if (!parent) return make_error("tids are translated here (no PID namespace), so a copy cannot have its own");
  if (parent->level_ + 1 > kMaxLevel)
    return make_error("PID namespaces cannot nest deeper than " + std::to_string(kMaxLevel) + " levels");
  std::shared_ptr<PidNamespace> p(new PidNamespace());
  if (!p->start(parent.get())) return make_error("cannot create a PID namespace: " + errno_text());
  p->parent_ = parent;
  p->level_ = parent->level_ + 1;
  p->owns_init_ = true;
  return p;
}

PidNamespace::~PidNamespace() {
  if (!owns_init_ || init_ <= 0) return;
  // Not waited for here: an init that ends takes its namespace's tasks
  // along and waits for them, and one of them may be a tracee of ours
  // that only we can release. It is reaped later.
  kill(init_, SIGKILL);
  ended_inits().push_back(init_);
}

bool PidNamespace::start(PidNamespace* parent) {
  outer_ = ScopedFd(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!outer_.is_open()) return false;
  if (parent) {
    if (!start_nested(*parent)) return false;
  } else {
    int gone = supervisor_gone_fd();
    long pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) return false;
    if (pid == 0) init_main(gone);
    init_ = (pid_t)pid;
  }
  inner_ = ScopedFd(open(ns_path().c_str(), O_RDONLY | O_CLOEXEC));
  if (!inner_.is_open()) {
    kill(init_, SIGKILL);
    waitpid(init_, nullptr, 0);
    return false;
  }
  return true;
}

bool PidNamespace::start_nested(PidNamespace& parent) {
  // Only a process whose own namespace is `parent` can create one inside
  // it, so a helper forked into `parent` does, and leaves. The init is
  // made a sibling of the helper (CLONE_PARENT): a child of ours, which
  // dies with us. It reports its pid as we see it (our /proc's) on a pipe.
  int gone = supervisor_gone_fd();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  ScopedFd rd(fds[0]), wr(fds[1]);
  pid_t helper = parent.fork_as(0);
  if (helper < 0) return false;
  if (helper == 0) {
    long pid = syscall(SYS_clone, CLONE_NEWPID | CLONE_PARENT, 0, 0, 0, 0);
    if (pid == 0) {
      char self[32] = {};
      ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);
      if (n > 0 && write(wr.get(), self, (size_t)n) != n) _exit(1);
      init_main(gone);
    }
    _exit(pid < 0 ? 1 : 0);
  }
  wr.reset();
  int status = 0;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  char buf[32] = {};
  ssize_t n;
  while ((n = read(rd.get(), buf, sizeof(buf) - 1)) < 0 && errno == EINTR) {
  }
  init_ = n > 0 ? (pid_t)atoi(buf) : 0;
  if (init_ <= 0) {
    errno = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EIO : EINVAL;
    return false;
  }
  return true;
}

namespace {

// A fork into the PID namespace the caller's children go to, with the tids
// `set_tid` names (innermost first; none: any); when they are taken (a
// task of ours that has not been reaped yet, or the one this replaces),
// with any: replay translates tids where they differ.
long clone3_with_tids(const pid_t* set_tid, size_t count) {
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  args.exit_signal = SIGCHLD;
  args.set_tid = count ? (uint64_t)(uintptr_t)set_tid : 0;  // the kernel wants no array with no count
  args.set_tid_size = count;
  long r = syscall(SYS_clone3, &args, sizeof(args));
  if (r < 0 && count) {
    args.set_tid = 0;
    args.set_tid_size = 0;
    r = syscall(SYS_clone3, &args, sizeof(args));
  }
  return r;
}

}  // namespace

pid_t PidNamespace::fork_as(pid_t want) {
  if (setns(inner_.get(), CLONE_NEWPID) != 0) return -1;
  pid_t tid = want;
  long r = clone3_with_tids(&tid, want > 1 ? 1 : 0);
  if (r == 0) return 0;
  int saved = errno;
  // Threads cannot be created while our children's namespace is not ours.
  if (setns(outer_.get(), CLONE_NEWPID) != 0) fatal_errno("cannot return to the supervisor's PID namespace");
  if (r < 0 && saved == ENOSYS) return fork();  // no clone3: outside the namespace, tids translated
  errno = saved;
  return (pid_t)r;
}

pid_t PidNamespace::fork_into(int ns_fd, const std::vector<pid_t>& set_tid) {
  ScopedFd own(open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own.is_open() || setns(ns_fd, CLONE_NEWPID) != 0) return -1;
  long r = clone3_with_tids(set_tid.data(), set_tid.size());
  if (r == 0) return 0;
  int saved = errno;
  if (setns(own.get(), CLONE_NEWPID) != 0) fatal_errno("cannot return to the supervisor's PID namespace");
  errno = saved;
  return (pid_t)r;
}

pid_t PidNamespace::inner_tid(pid_t live) {
  std::vector<pid_t> all = ns_tids(live);
  return all.empty() ? 0 : all.back();
}

namespace {

std::vector<pid_t> status_ids(pid_t live, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(live) + "/status");
  std::string line;
  std::vector<pid_t> out;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0) continue;
    std::istringstream fields(line.substr(key.size()));
    pid_t v;
    while (fields >> v) out.push_back(v);
    break;
  }
  return out;
}

}  // namespace

std::vector<pid_t> PidNamespace::ns_tids(pid_t live) { return status_ids(live, "NSpid:"); }

uint64_t PidNamespace::inode_of(pid_t live) {
  struct stat st;
  std::string path = "/proc/" + std::to_string(live) + "/ns/pid";
  return stat(path.c_str(), &st) == 0 ? (uint64_t)st.st_ino : 0;
}

std::vector<uint64_t> PidNamespace::ns_chain(pid_t live, size_t levels) {
  std::vector<uint64_t> chain;
  std::string path = "/proc/" + std::to_string(live) + "/ns/pid";
  ScopedFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  while (ns.get() >= 0 && chain.size() < levels) {
    struct stat st;
    if (fstat(ns.get(), &st) != 0) break;
    chain.insert(chain.begin(), (uint64_t)st.st_ino);
    if (chain.size() == levels) break;
    ns = ScopedFd(ioctl(ns.get(), NS_GET_PARENT));
  }
  if (chain.size() != levels) chain.clear();
  return chain;
}

bool PidNamespace::in_ns_init_process(pid_t live) {
  std::vector<pid_t> tgids = status_ids(live, "NStgid:");
  return tgids.size() > 1 && tgids.back() == 1;
}

}  // namespace rr
