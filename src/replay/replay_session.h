// ReplaySession: re-executes a trace. The tracee is a fresh process of ours
// into which the recorded post-exec image is rebuilt (the program file is
// never executed); it then runs under PTRACE_SYSEMU, and at every event the
// session checks the registers against the recording and applies what the
// recording says: syscall results and memory, signals, rdtsc values. Any
// difference stops replay with a divergence error naming the event, task
// and registers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <string>

#include "core/fd_table.h"
#include "core/signal_delivery.h"
#include "core/task.h"
#include "trace/trace_files.h"
#include "util/result.h"

namespace rr {

// Counters the supervisor keeps during replay; part of `rr state`.
struct ReplayCounters {
  uint64_t syscalls = 0;
  uint64_t emulated = 0;
  uint64_t executed = 0;
  uint64_t signals = 0;
  uint64_t rdtsc = 0;
  uint64_t bytes_written = 0;  // tracee memory written from the trace
};

class ReplaySession {
 public:
  static Result<std::unique_ptr<ReplaySession>> open(const std::string& trace_dir);
  ~ReplaySession();

  // Replays events until `target` has been applied (or the end of the trace
  // when target is 0). Returns an error on divergence or a bad trace.
  Status run_to(uint64_t target);
  // The last event applied (0 before the first).
  uint64_t current_event() const { return current_event_; }
  bool at_end() const { return at_end_; }
  // True when the tracee has exited; exit_status() then holds its status.
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  int killed_by() const { return killed_by_; }

  // Echo the program's writes to stdout/stderr (on by default).
  void set_echo(bool on) { echo_ = on; }
  // Called every few thousand events during run_to (for progress displays).
  void set_progress(std::function<void(uint64_t event)> f) { progress_ = std::move(f); }

  // Whether the state after the current event can be saved as a persistent
  // checkpoint: the tracee lives and nothing is in flight (no signal waiting
  // to be delivered, no exit under way, no emulated shared files).
  bool can_checkpoint() const;
  // Where the next event's frame starts in the events stream.
  StreamPos next_frame_position() const { return next_frame_pos_; }
  // Rebuilds the replay from a checkpoint file (see checkpoint/): a fresh
  // tracee, its memory and kernel state, the supervisor state, and the
  // trace reader positioned at the event after the checkpoint's.
  Status restore(const std::string& checkpoint_path);
  // Opens a replay positioned at the latest usable checkpoint at or before
  // `target` (0: any), or at the start when there is none or
  // `ignore_checkpoints`. Unusable checkpoints are reported on stderr, one
  // line each, and skipped.
  static Result<std::unique_ptr<ReplaySession>> open_at(const std::string& trace_dir, uint64_t target,
                                                        bool ignore_checkpoints);

  Task* task() { return task_.get(); }
  void set_counters(const ReplayCounters& c) { counters_ = c; }
  void set_fds(const FdTable& fds) { fds_ = fds; }
  const FdTable& fds() const { return fds_; }
  const ReplayCounters& counters() const { return counters_; }
  TraceReader& reader() { return *reader_; }
  const std::string& trace_dir() const { return reader_->dir(); }

 private:
  explicit ReplaySession(std::unique_ptr<TraceReader> reader) : reader_(std::move(reader)) {}
  Status apply(trace::Frame::Reader f);
  Status apply_exec(trace::Frame::Reader f, trace::ExecImage::Reader image);
  Status apply_syscall(trace::Frame::Reader f, trace::SyscallEvent::Reader sc);
  Status apply_signal(trace::Frame::Reader f, trace::SignalEvent::Reader ev);
  Status apply_rdtsc(trace::Frame::Reader f, trace::RdtscEvent::Reader ev);
  Status apply_exit(trace::Frame::Reader f, trace::ExitEvent::Reader ev);
  // Resumes the tracee and waits; passes the pending signal.
  WaitStatus resume_and_wait(ResumeHow how);
  // Runs the syscall the tracee is stopped at the entry of, for real.
  Registers execute_in_place();
  Status check_regs(trace::Frame::Reader f, const char* what, const Registers& expected);
  Error divergence(trace::Frame::Reader f, const std::string& what);
  void echo_write(trace::SyscallEvent::Reader sc, int fd);
  Status spawn_stub(RecordedTid recorded);

  // The next frame, read ahead of time (see peek()).
  Result<std::optional<FrameData>> take_next();
  const FrameData* peek();
  // A file descriptor (of this process) holding the shared copy of a trace
  // file that the program mapped shared and writable.
  int emulated_file(const std::string& trace_file);
  // For a syscall that swaps the signal mask while it waits (rt_sigsuspend,
  // ppoll, pselect6, epoll_pwait): when a signal is delivered right after it,
  // runs rt_sigsuspend with the same mask so that the kernel sets up the
  // delivery exactly as it did in the recording. Returns true if it did.
  bool replay_mask_swap(trace::SyscallEvent::Reader sc);

  std::unique_ptr<TraceReader> reader_;
  std::optional<FrameData> lookahead_;
  StreamPos next_frame_pos_;       // position of the frame after current_event_
  std::set<std::string> shared_files_;
  std::map<std::string, ScopedFd> emulated_files_;
  bool signal_queued_ = false;  // the next async signal was already sent
  std::unique_ptr<Task> task_;
  FdTable fds_;
  ReplayCounters counters_;
  uint64_t current_event_ = 0;
  int pending_sig_ = 0;
  FrameKernelState pending_frame_;  // recorded kernel-written parts of the pending signal's frame
  bool at_end_ = false;
  bool exited_ = false;
  int exit_code_ = 0;
  int killed_by_ = 0;
  bool echo_ = true;
  bool exiting_ = false;  // the tracee is about to run exit/exit_group
  std::function<void(uint64_t)> progress_;
};

}  // namespace rr
