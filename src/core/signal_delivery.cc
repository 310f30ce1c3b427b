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
// in and holds err, trapno, oldmask and cr2 after 19 general registers.
constexpr uint64_t kFrameErr = 8 + 40 + 19 * 8;
constexpr uint64_t kFrameTrapno = kFrameErr + 8;
constexpr uint64_t kFrameCr2 = kFrameErr + 24;
// mcontext.fpstate: the address of the FXSAVE/XSAVE image the kernel wrote.
constexpr uint64_t kFrameFpstate = 8 + 40 + 23 * 8;
// In that image, FOP, FIP and FDP (bytes 6..23): AMD CPUs leave timing-
// dependent values there (what the kernel's FPU code last executed).
constexpr uint64_t kFxLastInsn = 6;
constexpr size_t kFxLastInsnLen = 18;

}  // namespace

bool signal_is_caught(Task& t, int sig) {
  auto status = read_file("/proc/" + std::to_string(t.tid()) + "/status");
  if (!status.ok()) fatal(status.error().message);
  const std::string& s = status.value();
  size_t at = s.find("SigCgt:");
  if (at == std::string::npos) return false;
  uint64_t caught = strtoull(s.c_str() + at + 7, nullptr, 16);
  return (caught >> (sig - 1)) & 1;
}

bool deliver_to_handler(Task& t, int sig, bool synchronous) {
  if (!signal_is_caught(t, sig)) return false;
  t.resume(ResumeHow::SingleStep, sig);
  WaitStatus st = t.wait();
  if (st.ended()) fatal(std::string("the tracee ended while entering its ") + strsignal(sig) + " handler");
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGTRAP)
    fatal(std::string("entering the ") + strsignal(sig) + " handler stopped with " + st.describe());
  uint64_t frame = t.regs().sp().as_int();
  uint64_t zero = 0;
  if (!synchronous) {
    t.write_val(RemotePtr(frame + kFrameErr), zero);
    t.write_val(RemotePtr(frame + kFrameTrapno), zero);
  }
  if (!synchronous || (sig != SIGSEGV && sig != SIGBUS)) t.write_val(RemotePtr(frame + kFrameCr2), zero);
  uint64_t fpstate = t.read_val<uint64_t>(RemotePtr(frame + kFrameFpstate));
  if (fpstate) {
    static const char zeros[kFxLastInsnLen] = {};
    t.write_mem(RemotePtr(fpstate + kFxLastInsn), zeros, sizeof(zeros));
  }
  return true;
}

}  // namespace rr
