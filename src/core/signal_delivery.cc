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

namespace {

// Where the frame's FPU image is and how large: the kernel records its size
// in the software-reserved bytes 464.. of the FXSAVE area (magic, then the
// extended size); a plain FXSAVE image is 512 bytes.
bool frame_fpu_range(Task& t, uint64_t& addr, size_t& len) {
  uint64_t frame = t.regs().sp().as_int();
  addr = t.read_val<uint64_t>(RemotePtr(frame + kFrameFpstate));
  if (!addr) return false;
  uint32_t sw[2];
  if (!t.read_mem(RemotePtr(addr + 464), sw, sizeof(sw))) return false;
  len = (sw[0] == 0x46505853u /* FP_XSTATE_MAGIC1 */ && sw[1] >= 512 && sw[1] <= 65536) ? sw[1] : 512;
  return true;
}

}  // namespace

std::string frame_fpu_image(Task& t) {
  uint64_t addr;
  size_t len;
  if (!frame_fpu_range(t, addr, len)) return "";
  std::string image(len, '\0');
  if (!t.read_mem(RemotePtr(addr), image.data(), len)) return "";
  return image;
}

void set_frame_fpu_image(Task& t, const std::string& image) {
  uint64_t addr;
  size_t len;
  if (image.empty() || !frame_fpu_range(t, addr, len)) return;
  if (len != image.size()) fatal("the signal frame's FPU image has another size than in the recording");
  t.write_mem(RemotePtr(addr), image.data(), image.size());
}

}  // namespace rr
