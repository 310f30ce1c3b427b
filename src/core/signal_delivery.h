// Delivering a signal to a handler the same way on every road. The kernel
// writes into every signal frame things that are not the program's doing:
// three fields of the thread's fault history (trap number, error code, fault
// address), which differ between a recording, a replay and a restored
// checkpoint (the supervisor's own traps, a fresh process), and an FPU image
// whose XSAVE contents depend on timing on some CPUs (AMD's x87 pointers,
// init tracking). So both recording and replay enter handlers by single-step
// and stop at the handler's first instruction; the recorder saves those
// parts of the frame and replay writes them back.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/task.h"

namespace rr {

// A signal set of the tracee from /proc/TID/status: "SigCgt" (caught),
// "SigIgn" (ignored), "SigBlk" (blocked). Bit N-1 is signal N.
uint64_t proc_sigset(pid_t tid, const char* field);
// The same, nullopt where the thread is gone.
std::optional<uint64_t> try_proc_sigset(pid_t tid, const char* field);

// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: signals whose default action stops
// the process (a group stop).
bool is_stop_signal(int sig);

// Whether delivering `sig` to the task changes nothing in it: no handler,
// and a default action of stop or continue (SIGCONT), which only decide
// when the task runs; or the signal is ignored.
bool delivery_changes_nothing(Task& t, int sig);

// Whether `sig` has a handler in the tracee (it gets a signal frame).
bool signal_is_caught(Task& t, int sig);

// Whether delivering `sig` ends the tracee's process: no handler, not
// ignored, and a default action that terminates (with or without a core).
bool signal_is_fatal(Task& t, int sig);

// Whether the fault signal `sig` (synchronous, forced by the kernel) kills
// the task, which is the first process of its PID namespace, when it runs
// untraced, while under ptrace the kernel ignores it: the kernel lifts such
// an init's protection from fatal signals only for a fault it forces on an
// untraced task. The fault takes effect if the tracer detaches the task
// (it runs the instruction again), as the recorder and replay both do.
bool init_fault_needs_detach(Task& t, int sig);

// What became of a signal's delivery into its handler.
struct HandlerEntry {
  enum class Kind {
    NotCaught,  // no handler: nothing was done
    Entered,    // the tracee is stopped at the handler's first instruction
    // The kernel could not write the handler's frame (a bad or overflowed
    // stack) and forced a SIGSEGV instead, resetting that signal's handler
    // when it was the one delivered: the tracee is stopped with that
    // SIGSEGV (`stop`), to be handled as a signal of its own.
    Refused,
  };
  Kind kind = Kind::NotCaught;
  WaitStatus stop;
  bool entered() const { return kind == Kind::Entered; }
};

// Delivers `sig` (the tracee is at its signal-delivery stop) into its handler.
HandlerEntry deliver_to_handler(Task& t, int sig);

// The kernel-written parts of the signal frame at the handler's first
// instruction: what the recorder saves and replay restores.
struct FrameKernelState {
  uint64_t err = 0, trapno = 0, cr2 = 0;  // sigcontext fault history
  std::string fpu;                        // the FPU image (FXSAVE/XSAVE)
};
FrameKernelState read_frame_state(Task& t);
void write_frame_state(Task& t, const FrameKernelState& state);

// Sets the handler of `sig` (SIGSEGV or SIGILL) back to `handler`, keeping
// its flags, mask and restorer: after a forced SIGSEGV (the rdtsc trap) or
// SIGILL (an rdrand trap) reset it.
void restore_segv_handler(Task& t, int sig, uint64_t handler);
// The handler and flags of `sig` as the kernel holds them for `t`'s process.
bool segv_action(Task& t, int sig, uint64_t* handler, uint64_t* flags);

}  // namespace rr
