#include "core/user_namespace.h"

#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <string>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/signal_delivery.h"
#include "util/io.h"

namespace rr {

namespace {

Status write_proc(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return make_error("cannot open " + path + ": " + errno_text());
  ssize_t n = write(fd, text.data(), text.size());
  std::string err = errno_text();
  close(fd);
  if (n != (ssize_t)text.size()) return make_error("cannot write " + path + ": " + err);
  return {};
}

pid_t g_child = 0;
volatile sig_atomic_t g_interrupt = 0;

// The parent passes SIGTERM and SIGHUP on as a kill: the child, first
// process of its PID namespace, would not get signals it has no handler
// for, and its end takes the replay's processes along.
void kill_child(int) {
  if (g_child > 0) kill(g_child, SIGKILL);
}

// SIGINT is decided in the waiting loop (see there).
void note_interrupt(int) { g_interrupt = 1; }

// Whether process `pid` ignores SIGINT.
bool ignores_sigint(pid_t pid) { return try_proc_sigset(pid, "SigIgn").value_or(0) & (1ull << (SIGINT - 1)); }

}  // namespace

Result<std::optional<int>> replay_in_user_namespace() {
  if (geteuid() == 0) return std::optional<int>();
  uid_t uid = geteuid();
  gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) != 0)
    return make_error(ErrorKind::Unsupported, "replay as an ordinary user needs user and PID namespaces, which this kernel refuses (" +
                      errno_text() + "); run rr as root or allow unprivileged user namespaces");
  RR_TRY(write_proc("/proc/self/setgroups", "deny"));
  RR_TRY(write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n"));
  RR_TRY(write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n"));
  // The parent holds the write end of a pipe for as long as it lives: the
  // child, whose getppid() is 0 in its namespace, sees EOF when it is gone.
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) return make_error("pipe: " + errno_text());
  fflush(stdout);
  fflush(stderr);
  pid_t child = fork();
  if (child < 0) return make_error("fork: " + errno_text());
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(alive[1]);
    struct pollfd p = {alive[0], POLLIN, 0};
    if (poll(&p, 1, 0) != 0) _exit(1);  // EOF: the parent is gone already
    // A /proc of the new PID namespace, in a mount namespace of our own, so
    // that /proc/PID names the processes by the pids rr sees.
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      fprintf(stderr, "rr: cannot mount /proc for the replay's PID namespace: %s\n", errno_text().c_str());
      _exit(1);
    }
    return std::optional<int>();
  }
  close(alive[0]);
  g_child = child;
  struct sigaction sa = {};
  sa.sa_handler = kill_child;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  sa.sa_handler = note_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return make_error("waitpid: " + errno_text());
    // A ^C: where the child ignores it (a gdb session, in which gdb takes
    // ^C as an interrupt) nothing happens; else it ends the replay, as it
    // ends a replay run as root.
    if (g_interrupt && !ignores_sigint(child)) kill(child, SIGKILL);
    g_interrupt = 0;
  }
  if (WIFEXITED(status)) return std::optional<int>(WEXITSTATUS(status));
  return std::optional<int>(128 + WTERMSIG(status));
}

}  // namespace rr
