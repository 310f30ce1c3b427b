// Helpers the files of ReplaySession share (replay_session.cc defines them);
// not part of the replay layer's interface.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/perf_counter.h"
#include "core/task.h"
#include "trace/trace_files.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

// Signals an instruction raises by itself; every other signal a replayed
// task sees must have been sent by the replay.
bool raised_by_instruction(int sig);
// Ends one thread (not its process) by running exit(0) in it, and reaps it.
void end_thread(Task& t);
std::string hex(uint64_t v);
// A stop in words, for divergence messages.
std::string describe_stop(const WaitStatus& st);
// A new memfd holding a copy of the file `src` (holes kept as holes): an
// emulated file's copy (`what` names it in errors).
Result<ScopedFd> memfd_copy(int src, const std::string& what);

// RF in eflags: instruction breakpoints at the next instruction are skipped
// once.
constexpr uint64_t kEflagsResume = 1ull << 16;
constexpr uint64_t kEflagsTrap = 1ull << 8;  // TF: the program steps itself

// Whether the instruction at `ip` in `t` is a string instruction with a
// rep prefix (core/x86_insn.h).
bool rep_string_at(Task& t, RemotePtr<> ip);

// Counts one instruction's executions over a whole stretch, across its
// pieces: executions that began since the stretch did, each once, whatever
// stopped the task in between. The kernel counts an execution when the
// instruction is about to run (an instruction breakpoint); a stop there
// (a breakpoint, a counted piece) has seen it counted already, so the
// resume after it runs the instruction with the resume flag, which keeps
// it from being counted twice. A resume flag set for another reason at an
// instruction not yet counted lets it run unseen: that one is added here.
class StretchCounter {
 public:
  StretchCounter(Task& t, RemotePtr<> addr);
  // Just before a resume (`armed_exec_here`: an instruction breakpoint of the
  // piece is at the task's instruction and must hit at once).
  void before_resume(bool armed_exec_here);
  // After a stop: the kernel has counted the instruction the task is at if
  // an instruction breakpoint or counter there stopped it, or if the stop is
  // between two iterations of it (a REP instruction: the resume flag in the
  // stop's flags); after a step or a watchpoint it has not begun yet.
  void stopped(bool at_instruction_break, bool inside);
  // Executions that began before the task's current point.
  uint64_t executions() const;
  RemotePtr<> addr() const { return addr_; }
  // Its bookkeeping, to put back when a resume is made again unchanged.
  struct Kept {
    int64_t adjust;
    bool counted_here;
  };
  Kept kept() const { return {adjust_, counted_here_}; }
  void restore(const Kept& k) {
    adjust_ = k.adjust;
    counted_here_ = k.counted_here;
  }

 private:
  Task& t_;
  RemotePtr<> addr_;
  std::unique_ptr<ExecutionCounter> counter_;
  int64_t adjust_ = 0;
  bool counted_here_ = false;
};

// The event ReplaySession::run() stopped inside for a debugger: its frame,
// applied again by the next run(), and the state of its stretch of user
// code, which that apply() goes on with instead of starting it.
struct InsideEvent {
  std::optional<FrameData> frame;
  StreamPos frame_pos;                   // where the frame starts in the events stream
  RecordedTid tid;                       // the stretch's task (0: no stretch)
  bool entered_handler = false;          // the stretch begins at a signal handler's entry
  bool counter_chosen = false;           // a first piece has run (and chose `whole`)
  std::unique_ptr<StretchCounter> whole; // the instruction counted over the stretch
  std::optional<WaitStatus> reached;     // the stretch's end: the event's stop
  bool exit_reported = false;            // stopped at ProcessExit already
  // The event's syscall buffer records were checked and emptied
  // (finish_buffered_records): a stop after that, at a process's exit,
  // must not check them again against the emptied buffer.
  bool records_finished = false;
};

}  // namespace rr
