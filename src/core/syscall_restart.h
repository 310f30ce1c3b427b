// How the kernel finishes a syscall that a signal interrupted. Such a call
// leaves the kernel's work with one of four internal codes in rax (what a
// tracer sees at its exit stop); on the way back to user space the kernel
// then turns it into -EINTR or a restart, depending on whether a signal
// handler runs and with which flags. When no handler runs (the signal was
// ignored, or another thread dequeued it, or a ptrace or group stop woke the
// thread) every code restarts: rip goes back over the 2-byte syscall
// instruction and rax becomes the call's number again, or restart_syscall's
// for ERESTART_RESTARTBLOCK, whose restart state lives in the kernel's
// per-thread restart_block.
//
// Replay emulates most syscalls, so its kernel never takes that exit path by
// itself; it must be made to, at the same points as in the recording.
#pragma once

#include <cstdint>

#include "core/registers.h"

namespace rr {

constexpr int64_t kERestartSys = -512;           // restart if SA_RESTART, else EINTR
constexpr int64_t kERestartNoIntr = -513;        // always restart
constexpr int64_t kERestartNoHand = -514;        // restart unless a handler runs
constexpr int64_t kERestartRestartBlock = -516;  // restart_syscall unless a handler runs

// Whether `ret` is one of the four codes.
bool is_restart_code(int64_t ret);

// Whether `r` are the registers of a thread stopped at the exit of an
// interrupted syscall whose restart is still to be decided: a syscall
// number (not -1: the kernel has not handled this exit yet) and a code.
bool restart_undecided(const Registers& r);

// What the kernel does with `r` (restart_undecided) when no handler runs:
// back to the syscall instruction, ready to enter the call again (or
// restart_syscall). The registers of the restarted call's entry are these,
// but for rax (-ENOSYS at an entry stop) and orig_rax (the number).
Registers restarted_without_handler(const Registers& r);

}  // namespace rr
