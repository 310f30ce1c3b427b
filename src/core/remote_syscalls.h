// RemoteSyscalls runs syscalls inside a stopped tracee: it points the
// tracee's registers at a `syscall; int3` sequence, lets it run into the
// breakpoint, reads the result, and puts the registers back when done. Used
// to build the rr page, to reshape address spaces in replay and restore, and
// to execute the syscalls replay does not emulate.
#pragma once

#include <cstdint>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/task.h"

namespace rr {

class RemoteSyscalls {
 public:
  // Uses the rr page's instructions.
  explicit RemoteSyscalls(Task& task);
  // Uses `patch_at`, temporarily overwriting 3 bytes there: for a tracee that
  // has no rr page yet (right after exec).
  RemoteSyscalls(Task& task, RemotePtr<> patch_at);
  // For a tracee the kernel may kill meanwhile (a SIGKILL wakes a stopped
  // tracee and ends it: its PID namespace's end, another process's kill),
  // whose end must not stop rr: from then on every call returns -ESRCH,
  // died() says so and end_status() holds the stop or end the wait saw,
  // which the caller hands on (none when the tracee was not waited for).
  // checked() then fails only for a call the live tracee failed, and the
  // destructor puts back what it can without failing.
  struct MayDie {};
  RemoteSyscalls(Task& task, MayDie);
  RemoteSyscalls(Task& task, RemotePtr<> patch_at, MayDie);
  // Restores registers (and patched bytes). With MayDie, after the tracee
  // died, or while an exception unwinds (a failure inside the tracee's
  // handling, which may be its death), it puts back what it can and never
  // fails: a destructor that threw then would end rr. Otherwise a failure
  // to put them back is thrown (FatalError) like any other.
  ~RemoteSyscalls() noexcept(false);
  RemoteSyscalls(const RemoteSyscalls&) = delete;
  RemoteSyscalls& operator=(const RemoteSyscalls&) = delete;

  // Returns the raw result (negative errno on failure).
  int64_t syscall(int64_t nr, std::initializer_list<uint64_t> args = {});
  // Whether a raw result is an error (-4095 to -1).
  static bool failed(int64_t result) { return result < 0 && result >= -4095; }
  // Like syscall(), but fails with a message naming the call when it fails.
  int64_t checked(const char* what, int64_t nr, std::initializer_list<uint64_t> args = {});

  // Several calls with one resume of the tracee: rebuilding a layout makes a
  // hundred or more, and each round trip through ptrace costs tens of
  // microseconds. They run in order from a loop put on the rr page for the
  // while, their table in the scratch page (so their arguments are values,
  // not pointers into it), and stop after the first that fails. Returns the
  // results of the calls made, a failure last. A tracee without the rr page
  // (patched) or that may die makes them one at a time.
  struct Call {
    int64_t nr;
    uint64_t args[6];
  };
  std::vector<int64_t> batch(const std::vector<Call>& calls);

  // Copies `data` into the rr scratch page at `offset` and returns its address.
  RemotePtr<> scratch(const void* data, size_t len, size_t offset = 0);
  RemotePtr<> scratch_string(const std::string& s, size_t offset = 0);
  template <typename T>
    requires std::is_trivially_copyable_v<T>
  RemotePtr<T> scratch_val(const T& value, size_t offset = 0) {
    return scratch(&value, sizeof(value), offset).template cast<T>();
  }

  // Async signals that reached the tracee while it ran injected code; they
  // were suppressed and the caller decides what to do with them.
  const std::vector<siginfo_t>& stashed_signals() const { return stashed_; }
  // A SIGSTOP stopped it meanwhile; it was suppressed too (a caller that
  // cannot tell it from one of its own sends it again).
  bool stop_suppressed() const { return stop_suppressed_; }
  bool died() const { return died_; }
  std::optional<int> end_status() const { return end_status_; }
  // The live tid of the task an injected fork or clone created (0: none).
  // It is a ptrace child of ours, not waited for yet.
  pid_t spawned() const { return spawned_; }

 private:
  // Runs the tracee from `regs` until the breakpoint trap that ends at `trap_end`.
  Registers run(const Registers& regs, RemotePtr<> trap_end);
  Task& task_;
  Registers saved_;
  RemotePtr<> insn_;
  bool patched_ = false;
  std::string patched_bytes_;
  size_t scratch_used_ = 0;
  std::vector<siginfo_t> stashed_;
  bool stop_suppressed_ = false;
  bool may_die_ = false;
  bool died_ = false;
  std::optional<int> end_status_;
  pid_t spawned_ = 0;
  int uncaught_at_start_ = std::uncaught_exceptions();
};

}  // namespace rr
