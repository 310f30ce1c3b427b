#include "core/signal_delivery.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// Offsets in the x86-64 rt_sigframe at the handler's stack pointer: the
// return address (8 bytes), then the ucontext, whose mcontext starts 40 bytes
// in and holds err, trapno, oldmask and cr2 after 19 general registers, and
// the address of the FPU image after 23.
constexpr uint64_t kFrameErr = 8 + 40 + 19 * 8;
constexpr uint64_t kFrameTrapno = kFrameErr + 8;
constexpr uint64_t kFrameCr2 = kFrameErr + 24;
constexpr uint64_t kFrameFpstate = 8 + 40 + 23 * 8;

// Where the frame's FPU image is and how large: the kernel records its size
// in the software-reserved bytes 464.. of the FXSAVE area (magic, then the
// extended size); a plain FXSAVE image is 512 bytes.
bool frame_fpu_range(Task& t, uint64_t frame, uint64_t& addr, size_t& len) {
  addr = t.read_val(RemotePtr<uint64_t>(frame + kFrameFpstate));
  if (!addr) return false;
  uint32_t sw[2];
  if (!t.read_mem(RemotePtr<>(addr + 464), sw, sizeof(sw))) return false;
  len = (sw[0] == 0x46505853u /* FP_XSTATE_MAGIC1 */ && sw[1] >= 512 && sw[1] <= 65536) ? sw[1] : 512;
  return true;
}

}  // namespace

uint64_t proc_sigset(pid_t tid, const char* field) {
  auto status = read_file("/proc/" + std::to_string(tid) + "/status");
  if (!status.ok()) fatal(status.error().message);
  const std::string& s = status.value();
  std::string key = std::string("\n") + field + ":";
  size_t at = s.find(key);
  if (at == std::string::npos) return 0;
  return strtoull(s.c_str() + at + key.size(), nullptr, 16);
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

bool deliver_to_handler(Task& t, int sig) {
  if (!signal_is_caught(t, sig)) return false;
  t.resume(ResumeHow::SingleStep, sig);
  WaitStatus st = t.wait();
  if (st.ended()) fatal(std::string("the tracee ended while entering its ") + strsignal(sig) + " handler");
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGTRAP)
    fatal(std::string("entering the ") + strsignal(sig) + " handler stopped with " + st.describe());
  return true;
}

FrameKernelState read_frame_state(Task& t) {
  uint64_t frame = t.regs().sp().as_int();
  FrameKernelState s;
  s.err = t.read_val(RemotePtr<uint64_t>(frame + kFrameErr));
  s.trapno = t.read_val(RemotePtr<uint64_t>(frame + kFrameTrapno));
  s.cr2 = t.read_val(RemotePtr<uint64_t>(frame + kFrameCr2));
  uint64_t addr;
  size_t len;
  if (frame_fpu_range(t, frame, addr, len)) s.fpu = t.read_bytes(RemotePtr<>(addr), len);
  return s;
}

void write_frame_state(Task& t, const FrameKernelState& s) {
  uint64_t frame = t.regs().sp().as_int();
  t.write_val(RemotePtr<uint64_t>(frame + kFrameErr), s.err);
  t.write_val(RemotePtr<uint64_t>(frame + kFrameTrapno), s.trapno);
  t.write_val(RemotePtr<uint64_t>(frame + kFrameCr2), s.cr2);
  uint64_t addr;
  size_t len;
  if (s.fpu.empty() || !frame_fpu_range(t, frame, addr, len)) return;
  if (len != s.fpu.size()) fatal("the signal frame's FPU image has another size than in the recording");
  t.write_mem(RemotePtr<>(addr), s.fpu.data(), s.fpu.size());
}

}  // namespace rr
