// The FPU digest: a 64-bit summary of a thread's user FPU/SSE/AVX state
// that the recorder puts in every frame it can (Frame.fpuDigest) and replay
// compares with its own thread's, so that a vector register that differs
// from the recording (a replay gone astray, a forged checkpoint) is a
// divergence instead of a silently different replay.
#pragma once

#include <cstdint>
#include <string>

namespace rr {

class Task;

// The digest of an XSAVE area as PTRACE_GETREGSET NT_X86_XSTATE gives it
// (standard format; the kernel fills components in their initial state
// with their initial values). Left out, because they say how the kernel last
// saved the state rather than what the state is, and change from run to run:
//   bytes 6..23     FOP, FIP and FDP, the x87 last-instruction fields (AMD
//                   CPUs do not restore them, so they keep what the last
//                   x87 user on the CPU left, a matter of timing);
//   bytes 464..511  the software-reserved bytes the kernel writes;
//   bytes 512..575  the XSAVE header (XSTATE_BV follows the CPU's in-use
//                   tracking; XCOMP_BV is the kernel's).
// Never 0, which frames use for "no digest recorded".
uint64_t fpu_digest(const std::string& xsave);

// The digest of `t`'s current state (t stopped under ptrace), or 0 (no
// digest) when the kernel has no state to give: the task is gone (killed
// with its PID namespace, say) or not stopped.
uint64_t fpu_digest(Task& t);

}  // namespace rr
