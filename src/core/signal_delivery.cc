#include "core/signal_delivery.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <sys/syscall.h>

#include "core/pid_namespace.h"
#include "core/remote_syscalls.h"
#include "core/tracee_abi.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// Where the frame's FPU image is and how large: the kernel records its size
// in the software-reserved bytes of the FXSAVE area (magic, then the
// extended size); a plain FXSAVE image is 512 bytes.
bool frame_fpu_range(Task& t, RemotePtr<TraceeSigframe> frame, RemotePtr<>& addr, size_t& len) {
  addr = RemotePtr<>(t.read_val(frame.field(&TraceeSigframe::fpstate)));
  if (addr.is_null()) return false;
  TraceeFpxSwBytes sw;
  if (!t.read_mem(addr + kFxsaveSwBytesOffset, &sw, sizeof(sw))) return false;
  len = (sw.magic1 == kFpXstateMagic1 && sw.extended_size >= 512 && sw.extended_size <= 65536) ? sw.extended_size : 512;
  return true;
}

}  // namespace

std::optional<uint64_t> try_proc_sigset(pid_t tid, const char* field) {
  auto status = read_file("/proc/" + std::to_string(tid) + "/status");
  if (!status.ok()) return std::nullopt;
  const std::string& s = status.value();
  std::string key = std::string("\n") + field + ":";
  size_t at = s.find(key);
  if (at == std::string::npos) return 0;
  return strtoull(s.c_str() + at + key.size(), nullptr, 16);
}

uint64_t proc_sigset(pid_t tid, const char* field) {
  auto set = try_proc_sigset(tid, field);
  if (!set) fatal("cannot read /proc/" + std::to_string(tid) + "/status: " + errno_text());
  return *set;
}

bool is_stop_signal(int sig) { return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU; }

bool delivery_changes_nothing(Task& t, int sig) {
  if (signal_is_caught(t, sig)) return false;
  if (is_stop_signal(sig) || sig == SIGCONT) return true;
  return sig != SIGKILL && (proc_sigset(t.tid(), "SigIgn") & (1ull << (sig - 1))) != 0;
}

bool signal_is_caught(Task& t, int sig) {
  return (proc_sigset(t.tid(), "SigCgt") >> (sig - 1)) & 1;
}

bool signal_is_fatal(Task& t, int sig) {
  switch (sig) {
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:  // ignored by default
    case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:  // stop by default
      return false;
    default:
      break;
  }
  if (sig == SIGKILL) return true;
  return !signal_is_caught(t, sig) && !((proc_sigset(t.tid(), "SigIgn") >> (sig - 1)) & 1);
}

bool init_fault_needs_detach(Task& t, int sig) {
  // A fault the program blocks or ignores is forced with the default action.
  uint64_t bit = 1ull << (sig - 1);
  bool caught = proc_sigset(t.tid(), "SigCgt") & bit;
  bool blocked = proc_sigset(t.tid(), "SigBlk") & bit;
  if (caught && !blocked) return false;
  switch (sig) {
    case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP: case SIGSYS:
      break;
    default:
      return false;
  }
  return PidNamespace::inner_tid(t.tid()) == 1;
}

HandlerEntry deliver_to_handler(Task& t, int sig) {
  if (!signal_is_caught(t, sig)) return {};
  t.resume(ResumeHow::SingleStep, sig);
  WaitStatus st = t.wait();
  if (st.ended()) fatal(std::string("the tracee ended while entering its ") + strsignal(sig) + " handler");
  if (st.stopped() && WSTOPSIG(st.raw()) == SIGSEGV && st.ptrace_event() == 0)
    return {HandlerEntry::Kind::Refused, st};
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGTRAP)
    fatal(std::string("entering the ") + strsignal(sig) + " handler stopped with " + st.describe());
  return {HandlerEntry::Kind::Entered, st};
}

FrameKernelState read_frame_state(Task& t) {
  auto frame = t.regs().sp().cast<TraceeSigframe>();
  FrameKernelState s;
  s.err = t.read_val(frame.field(&TraceeSigframe::err));
  s.trapno = t.read_val(frame.field(&TraceeSigframe::trapno));
  s.cr2 = t.read_val(frame.field(&TraceeSigframe::cr2));
  RemotePtr<> addr;
  size_t len;
  if (frame_fpu_range(t, frame, addr, len)) s.fpu = t.read_bytes(addr, len);
  return s;
}

void write_frame_state(Task& t, const FrameKernelState& s) {
  auto frame = t.regs().sp().cast<TraceeSigframe>();
  t.write_val(frame.field(&TraceeSigframe::err), s.err);
  t.write_val(frame.field(&TraceeSigframe::trapno), s.trapno);
  t.write_val(frame.field(&TraceeSigframe::cr2), s.cr2);
  RemotePtr<> addr;
  size_t len;
  if (s.fpu.empty() || !frame_fpu_range(t, frame, addr, len)) return;
  if (len != s.fpu.size()) fatal("the signal frame's FPU image has another size than in the recording");
  t.write_mem(addr, s.fpu.data(), s.fpu.size());
}

bool segv_action(Task& t, int sig, uint64_t* handler, uint64_t* flags) {
  uint64_t action[4] = {};
  RemoteSyscalls rs(t);
  RemotePtr<> at = rs.scratch(action, sizeof(action));
  if (rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, 0, at.as_int(), sizeof(uint64_t)}) != 0) return false;
  if (!t.read_mem(at, action, sizeof(action))) return false;
  *handler = action[0];
  *flags = action[1];
  return true;
}

void restore_segv_handler(Task& t, int sig, uint64_t handler) {
  // The kernel's struct sigaction: handler, flags, restorer, mask.
  uint64_t action[4] = {};
  RemoteSyscalls rs(t);
  RemotePtr<> at = rs.scratch(action, sizeof(action));
  rs.checked("reading the trap signal's action", SYS_rt_sigaction, {(uint64_t)sig, 0, at.as_int(), sizeof(uint64_t)});
  if (!t.read_mem(at, action, sizeof(action))) fatal("cannot read the trap signal's action in the scratch page");
  action[0] = handler;
  rs.scratch(action, sizeof(action));
  rs.checked("putting the trap signal's handler back", SYS_rt_sigaction, {(uint64_t)sig, at.as_int(), 0, sizeof(uint64_t)});
}

}  // namespace rr
