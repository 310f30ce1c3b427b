// Task: one live tracee thread under ptrace, owned by the supervisor. It
// wraps the ptrace requests, waitpid and the tracee's memory file, and kills
// the tracee if the supervisor drops it. Higher layers (RecordSession,
// ReplaySession) decide what to do at each stop; Task only performs.
#pragma once

#include <csignal>
#include <sys/wait.h>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "core/registers.h"
#include "util/fatal.h"
#include "util/scoped_fd.h"
#include "util/types.h"

namespace rr {

// What waitpid said about a tracee.
class WaitStatus {
 public:
  WaitStatus() = default;
  explicit WaitStatus(int raw) : raw_(raw) {}
  int raw() const { return raw_; }
  bool exited() const { return WIFEXITED(raw_); }
  bool killed() const { return WIFSIGNALED(raw_); }
  bool ended() const { return exited() || killed(); }
  bool stopped() const { return WIFSTOPPED(raw_); }
  int exit_code() const { return WEXITSTATUS(raw_); }
  int term_sig() const { return WTERMSIG(raw_); }
  bool core_dumped() const { return killed() && WCOREDUMP(raw_); }
  // The signal of a signal-delivery stop (0 for other stops).
  int stop_sig() const {
    if (!stopped() || is_syscall_stop() || ptrace_event() != 0) return 0;
    return WSTOPSIG(raw_);
  }
  bool is_syscall_stop() const { return stopped() && WSTOPSIG(raw_) == (SIGTRAP | 0x80); }
  int ptrace_event() const { return stopped() ? (raw_ >> 16) & 0xff : 0; }
  std::string describe() const;

 private:
  int raw_ = 0;
};

enum class ResumeHow { Cont, Syscall, Sysemu, SingleStep, SysemuSingleStep };

// The scheduler state letter of a thread in /proc (R, S, D, t, Z...), or 0
// when it is gone.
char proc_state(pid_t tid);

// Debug registers a tracer inside the recording left in use, as bits:
// DR0-3 holding an address (bits 0-3), DR7 enabling a slot (bit 7). A
// checkpoint or copy holds no debug registers. Returns `bits` after the
// tracer set register `reg` to `value`.
uint8_t debug_regs_in_use(uint8_t bits, int reg, uint64_t value);

class Task {
 public:
  // Adopts `tid`, already a ptrace child of this thread and stopped.
  Task(pid_t tid, RecordedTid recorded);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  pid_t tid() const { return tid_; }
  RecordedTid recorded_tid() const { return recorded_tid_; }
  bool alive() const { return alive_; }

  void set_options(long options);
  void resume(ResumeHow how, int sig = 0);
  // Like resume, but a tracee that is already dying (ESRCH) is not an error:
  // returns false then.
  bool try_resume(ResumeHow how, int sig = 0);
  // Blocks until the tracee stops or ends.
  WaitStatus wait();
  // Waits until the tracee ends, letting it go on from any stop on the way
  // (PTRACE_EVENT_EXIT, signals).
  WaitStatus wait_until_ended();
  // For a thread group leader let go from its exit stop while other
  // threads of its process live (it stays a zombie until they end, and
  // no wait reports it): waits until it is one (Z in /proc), which it
  // becomes after the kernel's work for its end (clearing its tid word,
  // waking a joiner). That work then lands before the next event, in
  // recording and replay alike, not at a moment of the scheduler's. Stops
  // at a stop in /proc: a thread that exec'ed took the leader's tid. Gives
  // up after a second (a leader held in an uninterruptible sleep).
  void wait_until_zombie();
  // Records a status the caller obtained with waitpid itself.
  void note_status(const WaitStatus& st) {
    last_status_ = st;
    held_ = st.stopped();
    if (st.ended()) alive_ = false;
  }
  // Whether the last status seen was a stop and the task was not resumed
  // since: the recorder holds it there, unless a SIGKILL took it out.
  bool held() const { return held_; }
  // The last status a wait gave (wait() or note_status): a caller that finds
  // the task gone learns from it whether its end was already seen.
  const WaitStatus& last_status() const { return last_status_; }

  Registers regs();
  void set_regs(const Registers& regs);
  // Without failing when the tracee is not in a stop (a SIGKILL woke it).
  std::optional<Registers> try_regs();
  bool try_set_regs(const Registers& regs);
  std::string xsave();
  // The same, or nullopt when the task is not stopped for its tracer (gone,
  // or running).
  std::optional<std::string> try_xsave();
  void set_xsave(const std::string& area);
  // The same, false (errno set) where the kernel refuses the area (EINVAL:
  // reserved bits set, a component it does not know) or the task is gone.
  bool try_set_xsave(const std::string& area);
  siginfo_t siginfo();
  // The stop's siginfo, or nullopt where there is none: at a group stop
  // (the kernel answers EINVAL there) or when the task is gone.
  std::optional<siginfo_t> try_siginfo();
  // Debug register `i` (0-7), through the ptrace user area.
  uint64_t debug_reg(int i);
  void set_debug_reg(int i, uint64_t v);
  // Like set_debug_reg, but false instead of fatal when ptrace refuses.
  bool try_set_debug_reg(int i, uint64_t v);
  void set_siginfo(const siginfo_t& info);
  unsigned long event_msg();
  // Whether the current syscall stop is an entry (true) or an exit (false).
  bool at_syscall_entry();
  // Whether the syscall stop at_syscall_entry() last looked at entered the
  // 32-bit table (int $0x80), as PTRACE_GET_SYSCALL_INFO tells.
  bool compat_syscall() const { return compat_syscall_; }
  // Its blocked signals (bit N-1 for signal N), read and set through ptrace.
  uint64_t blocked_signals();
  void set_blocked_signals(uint64_t mask);

  // Reads tracee memory; false if any of it is unmapped. Large ranges go
  // through process_vm_readv, the rest (and what it refuses) through the
  // memory file.
  bool read_mem(RemotePtr<> addr, void* buf, size_t len);
  std::string read_bytes(RemotePtr<> addr, size_t len);  // fatal if unreadable
  void read_exact(RemotePtr<> addr, void* buf, size_t len);  // fatal if unreadable
  template <typename T>
    requires std::is_trivially_copyable_v<T>
  T read_val(RemotePtr<T> addr) {
    T v{};
    if (!read_mem(addr, &v, sizeof(v))) fatal_unreadable(addr, sizeof(v));
    return v;
  }
  // Writes tracee memory, also read-only pages (as a debugger does): large
  // ranges through process_vm_writev where the memory is writable, the rest
  // through the memory file.
  void write_mem(RemotePtr<> addr, const void* buf, size_t len);
  // Like write_mem, but false instead of fatal when it cannot be written.
  bool try_write_mem(RemotePtr<> addr, const void* buf, size_t len);
  template <typename T>
    requires std::is_trivially_copyable_v<T>
  void write_val(RemotePtr<T> addr, const std::type_identity_t<T>& v) { write_mem(addr, &v, sizeof(v)); }
  // Writes whole pages, many per syscall (process_vm_writev) where the
  // memory is writable, through the memory file where it is not.
  struct PageWrite {
    RemotePtr<> addr;
    const uint8_t* data;  // kPageSize bytes
  };
  void write_pages(const std::vector<PageWrite>& pages);

  // After execve the memory file names the old address space: open it anew.
  void reopen_mem();
  // Kills the tracee and reaps it.
  void kill();
  // Sends SIGKILL and lets it leave a ptrace stop, without waiting. Killing
  // all tasks this way before reaping any avoids waiting for a thread group
  // leader whose threads are still held in ptrace stops.
  void send_kill();
  // The tracee ended (reaped elsewhere, e.g. by wait()).
  void mark_dead() { alive_ = false; }
  // Lets the stopped task go on untraced (it is no longer ours to end).
  void detach();

 private:
  [[noreturn]] void fatal_unreadable(RemotePtr<> addr, size_t len);
  pid_t tid_;
  RecordedTid recorded_tid_;
  ScopedFd mem_fd_;
  bool alive_ = true;
  WaitStatus last_status_;
  bool held_ = false;
  // The registers as PTRACE_GETREGS last read them during this stop. A
  // stopped tracee's registers change only through this Task: a resume or
  // kill drops the copy, and so does set_regs, since the kernel may adjust
  // what it is given (flags bits, segments).
  user_regs_struct regs_cache_{};
  bool compat_syscall_ = false;
  bool regs_cached_ = false;
};

}  // namespace rr
