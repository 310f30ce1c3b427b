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
#include <vector>

#include "core/fd_table.h"
#include "core/session.h"
#include "core/signal_delivery.h"
#include "core/task.h"
#include "replay/traps.h"
#include "trace/counter_model.h"
#include "trace/trace_files.h"
#include "util/result.h"

namespace rr {

class PidNamespace;
class WriteTracker;
struct InsideEvent;  // replay_internal.h

// The supervisor's side of a replay at an event boundary, as a plain value:
// what clone() copies and a persistent checkpoint stores besides the
// tracees themselves.
struct SupervisorState {
  uint64_t event = 0;     // the last event applied
  StreamPos next_frame;   // where the next event's frame starts in the events stream
  ReplayCounters counters;
  RecordedTid initial_tid;  // recorded pid of the trace's first process
  bool at_end = false;
  bool exited = false;    // the first process has ended: exit_code or killed_by says how
  int exit_code = 0;
  int killed_by = 0;
};

// One replayed thread. Its live tid is the kernel's; the recorded tid is
// the one the program and the trace see.
struct ReplayTask : SessionTask {
  enum class Where {
    AtEvent,    // stopped after its last event; the next one starts by resuming it
    AtEntry,    // stopped at a syscall entry recorded by a SyscallEntryEvent
    CloneDone,  // a clone whose entry was recorded apart: already executed
  };
  Where where = Where::AtEvent;
  int pending_sig = 0;               // signal to deliver at the next resume
  FrameKernelState pending_frame;    // recorded kernel-written parts of its frame
  int queued_sig = 0;                // the async signal replay sent it and expects
  bool exiting = false;              // its exit or exit_group runs; its end comes next
  bool end_seen = false;             // stopped at PTRACE_EVENT_EXIT or ended: end_status holds how
  bool end_is_exit_stop = false;     // end_seen at the PTRACE_EVENT_EXIT stop (else ended)
  WaitStatus end_status;
  bool in_vfork = false;             // a vfork parent inside the kernel until its child execs or ends
  // While in_vfork: its registers and XSAVE area as it entered vfork, what
  // a debugger shows of it while it waits (the kernel lets no one read them).
  Registers vfork_regs;
  std::string vfork_xsave;
  RecordedTid vfork_parent;          // a vfork child still in its parent's memory: the parent
  bool in_exec = false;              // out of its vfork parent's memory, its new image not built yet
  // A seccomp filter governs it in the recording (replay installs none):
  // a call the recording shows failing may have been failed by the filter,
  // so a failed call replay would run again is emulated instead. Children
  // inherit it, exec keeps it.
  bool filtered = false;
  // The kernel keeps SS_DISABLE as its alternate signal stack's flags (it
  // dropped one, or was made sharing memory): its signal frames show 2 in
  // uc_stack.ss_flags, where a task that never had one shows 0. sigaltstack
  // answers SS_DISABLE for both; a checkpoint needs to know which.
  bool altstack_disabled = false;
  // A tracer inside the recording single-stepped it (SyscallEvent.traceeStep):
  // its next stretch of user code is one instruction.
  bool step_next = false;
  // It was made by, or made, a process sharing its memory (CLONE_VM without
  // CLONE_THREAD or CLONE_VFORK: LeakSanitizer's helper), or is a thread of
  // one: an exec builds its new image in a fresh process, not in place.
  bool shares_memory = false;
  // DR7 as a tracer inside the recording set it (SyscallEvent.traceeDebugReg):
  // while it enables a slot, no checkpoint or copy is made.
  uint64_t tracer_dr7 = 0;
  // The same and DR0-3 holding an address, as debug_regs_in_use keeps
  // them: a checkpoint holds no debug registers, so none is made while one
  // is set either (the tracer may enable it in DR7 after the event).
  uint8_t tracer_debug = 0;
  // PID namespaces the program made (a checkpoint or an in-memory copy
  // cannot rebuild them yet): the task's tids in those below replay's own,
  // outermost first, its own last (empty: it lives in replay's), and
  // whether its next children go into a new one (unshare(CLONE_NEWPID)).
  std::vector<pid_t> ns_tids;
  bool children_in_new_pid_ns = false;
  bool in_program_pid_ns() const { return !ns_tids.empty() || children_in_new_pid_ns; }
};

// A signal the event just applied stopped a task with, about to be
// delivered (the point a debugger reports as "received signal").
struct SignalStop {
  RecordedTid tid;
  int sig = 0;
  bool fatal = false;  // delivering it ends the process (no handler, default action kills)
};

// How ReplaySession::run goes on. Inside a stretch of user code (stopped
// at its beginning or at a trap) it says how to run the stretch's next
// piece; elsewhere it is left as it is, which runs on to the next stop.
// The default runs the rest of a stretch with nothing armed.
struct RunRequest {
  bool step = false;              // one instruction, then stop (Trap, a Step hit)
  const TrapSet* traps = nullptr; // armed for this piece; nullptr: none
  // A breakpoint at the current instruction is stepped over first (the
  // piece resumes from a hit there); else it hits at once. The piece then
  // goes on from the next instruction, stepping over a breakpoint there
  // too only with `skip_on_restart`.
  bool skip_current = false;
  bool skip_on_restart = false;
  // Run until just before execution `until_count` of `until` (a counted
  // piece; no traps, no step), not counting the instruction the piece
  // starts at unless `count_first` (the piece starts the stretch).
  RemotePtr<> until;
  uint64_t until_count = 0;
  bool count_first = false;
  // The first piece of a stretch only: an instruction whose executions the
  // whole stretch counts (reported in TrapHit::executions), or null.
  RemotePtr<> stretch_counter;
  // The software progress counter (docs/progress-counter.md), in a trace
  // recorded with it (ReplaySession::set_report_ticks): with `ticks` > 0,
  // the piece runs until
  // `ticks` more counted branches have run, and stops at the counter's trap
  // (a Ticked hit; no other traps, no step). The counter is armed only
  // while the piece runs and put back at every stop as if it never was, so
  // the program's memory is the same on every road.
  uint64_t ticks = 0;
};

// What ReplaySession::run stopped at. Each event (current_event() + 1)
// runs at most one stretch of user code, in the event's task, before the
// event's own stop; with debugger stops on, run() stops where the stretch
// begins, at each trap of its pieces, where it reaches the event's stop,
// and where a process is about to exit, and the next run() goes on from
// there.
struct ReplayStop {
  enum Kind {
    EventApplied,   // event current_event() has been applied (without debugger stops, the only stop but End)
    StretchBegins,  // the user code of the next event is about to run in `tid` (or goes on: a restore inside it)
    Trap,           // a piece stopped at `hit`; the task is there (at a breakpoint's address)
    StretchEnds,    // the stretch reached its event's stop; the event is applied next
    ProcessExit,    // `tid`, the last thread of its process, is at the entry of exit or exit_group: the last
                    // moment its process can be looked at
    End,            // the trace is over: exited() and exit_code() or killed_by() say how
  } kind = EventApplied;
  RecordedTid tid;     // the stretch's task, or the exiting one
  TrapHit hit;         // Trap
  SignalStop signal;   // EventApplied, with debugger stops: the signal the event stopped a task with (sig 0: none)
  RecordedTid exec;    // EventApplied: the process whose image the event's execve replaced (0: none)
  // EventApplied: the process the event made (fork, vfork, a clone without
  // CLONE_THREAD; child 0: none), the thread that made it, and whether
  // that thread waits for it (vfork).
  struct Fork {
    RecordedTid child, parent;
    bool vfork = false;
  } fork;
  // EventApplied: the vfork parent whose vfork returned in this event (its
  // child exec'd or ended; 0: none).
  RecordedTid vfork_done;
};

class ReplaySession : public Session<ReplayTask> {
 public:
  static Result<std::unique_ptr<ReplaySession>> open(const std::string& trace_dir);
  ~ReplaySession();

  // Replays events until `target` has been applied (or the end of the trace
  // when target is 0). Returns an error on divergence or a bad trace.
  Status run_to(uint64_t target);
  // Runs to the next stop (applying at most one event) and says what it
  // is. An error on divergence or a bad trace; the session is then only
  // fit to be destroyed.
  Result<ReplayStop> run(const RunRequest& req = {});
  // The last event applied (0 before the first).
  uint64_t current_event() const { return current_event_; }
  bool at_end() const { return at_end_; }
  // True when the tracee has exited; exit_code() or killed_by() then says how.
  bool exited() const { return exited_; }
  int exit_code() const { return exit_code_; }
  int killed_by() const { return killed_by_; }
  // The recorded pid of the trace's first process (0 before its exec).
  RecordedTid initial_tid() const { return initial_tid_; }
  // The registers of the task whose event comes next (the task that runs
  // the current stretch), nullopt at the trace's end or for a task replay
  // does not have.
  std::optional<Registers> next_event_task_regs();

  // Whether run() stops inside events for a debugger (see ReplayStop).
  void set_debugger_stops(bool on) { debugger_stops_ = on; }
  // The trace was recorded with the progress counter: debugger stops
  // inside a stretch report the counter's value (TrapHit::remaining), and
  // a piece may run to a count (RunRequest::ticks). Never on for a trace
  // without it, whose program may use the counter page's address.
  void set_report_ticks(bool on) { report_ticks_ = on; }

  // Echo the program's writes to stdout/stderr (on by default).
  void set_echo(bool on) { echo_ = on; }
  // The write tracker of the checkpoints written from this replay (see
  // WriteTracker), told when a process must leave its tracking.
  void set_write_tracker(WriteTracker* tracker) { write_tracker_ = tracker; }
  // Called every few thousand events during run_to (for progress displays).
  void set_progress(std::function<void(uint64_t event)> f) { progress_ = std::move(f); }

  // Whether the state after the current event can be saved as a persistent
  // checkpoint: every task is stopped after its last event or at the entry
  // of a blocking syscall, and nothing is in flight (no signal waiting to be
  // delivered, no exit, exec or vfork under way, no thread group without
  // its leader). Memory and fd tables shared between processes, System V
  // segments and emulated files are saved (checkpoint/shared_objects.h).
  bool can_checkpoint() const;
  // Why can_checkpoint() is false now, in a few words naming the task
  // ("" when it is true).
  std::string why_no_checkpoint() const;
  // Replay's own copies that a checkpoint saves and a restore hands back:
  // the emulated files (see emulated_file) by trace file name, and the
  // System V segments by the recording's id.
  const std::map<std::string, ScopedFd>& emulated_files() const { return emulated_files_; }
  void adopt_emulated_file(const std::string& trace_file, ScopedFd fd) { emulated_files_[trace_file] = std::move(fd); }
  struct ShmSegment {
    ScopedFd fd;           // replay's copy
    bool removed = false;  // shmctl(IPC_RMID) succeeded
  };
  const std::map<int64_t, ShmSegment>& shm_segments() const { return shm_segments_; }
  void adopt_shm_segment(int64_t id, ScopedFd fd, bool removed) {
    shm_segments_[id] = ShmSegment{std::move(fd), removed};
  }
  // Why no checkpoint can be taken while the program has PID namespaces of
  // its own (a task in one, or about to make children in one); empty when
  // it has none.
  std::string pid_namespace_refusal() const;
  // Where the next event's frame starts in the events stream.
  // Inside an event (a debugger stopped in its user code), that event's.
  StreamPos next_frame_position() const;
  SupervisorState supervisor_state() const;
  // Puts the supervisor at `s` (a fresh session being rebuilt by a restore
  // or a copy): the trace reader goes to s.next_frame.
  Status set_supervisor_state(const SupervisorState& s);
  // After a restore from the checkpoint file `checkpoint` at an event
  // boundary: the task of the current event must have the FPU state the
  // recording had after that event (Frame.fpuDigest, read again from the
  // trace); a CorruptCheckpoint error naming the event and task otherwise,
  // and when the checkpoint's events position does not follow its event.
  Status check_restored_fpu(const std::string& checkpoint);

  // What a restore (checkpoint/restore.h) rebuilds a fresh session with:
  // a new process with recorded pid `recorded` in the session's PID
  // namespace, a new thread inside `leader`'s process (clone3 run inside
  // it), and the adoption of rebuilt tasks: a process's first thread with
  // its fd table, and then its other threads.
  // With `ns_fd` (a PID namespace the program made), the process goes
  // there instead, with the tids `ns_tids` there when they are free.
  Result<std::unique_ptr<Task>> spawn_process(RecordedTid recorded, int ns_fd = -1,
                                              const std::vector<pid_t>& ns_tids = {});
  Result<std::unique_ptr<Task>> clone_thread(Task& leader, RecordedTid recorded);
  ReplayTask& adopt_process(std::unique_ptr<ReplayTask> leader, std::shared_ptr<FdTable> fds) {
    return add_process(std::move(leader), std::move(fds));
  }
  ReplayTask& adopt_thread(const ReplayTask& leader, std::unique_ptr<ReplayTask> thread) {
    return add_thread(leader, std::move(thread));
  }
  // Checks the trace's copies of the files image `img` maps (and its
  // program) against the trace's sums, before they are mapped.
  Status check_image_files(const ProcessImage& img);

  // Whether clone() can copy the replay now: as for can_checkpoint() but
  // with emulated files as long as no process maps one (the copy gets
  // copies of them), and
  // no process maps memory shared (a fork would keep sharing it with the
  // copy), and PID namespaces are not nested too deep yet.
  bool can_clone() const;
  // Why can_clone() says no for something the program keeps doing (a PID
  // namespace, memory or an fd table shared between processes, a mapped
  // emulated file); empty when nothing such is in the way.
  std::string clone_refusal() const;
  // An in-memory copy of the replay at this point: every process is forked from its leader (the kernel copies
  // memory on write), its other threads are re-created, and the supervisor
  // state is copied. The copy is left as restore() leaves a session: at
  // the event boundary or inside the next event's user code (its first
  // run() applies that event from its start, and a stretch begins where
  // the task stands), without debugger stops, and the source is
  // unchanged. Its processes live in a PID namespace nested in the
  // source's, with their recorded tids.
  Result<std::unique_ptr<ReplaySession>> clone();

  // The tracee when there is exactly one live thread; else nullptr.
  Task* task();
  void set_counters(const ReplayCounters& c) { counters_ = c; }
  // The fd table of the only process (empty when there is none).
  const FdTable& fds() const;
  const ReplayCounters& counters() const { return counters_; }
  TraceReader& reader() { return *reader_; }
  const std::string& trace_dir() const { return reader_->dir(); }

 private:
  explicit ReplaySession(std::unique_ptr<TraceReader> reader);
  Status apply(trace::Frame::Reader f);
  Status apply_exec(trace::Frame::Reader f, trace::ExecImage::Reader image);
  Status apply_syscall(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  // apply_syscall's pieces (replay_syscalls.cc): the recorded memory writes;
  // those and the recorded result; a result compared with the recorded
  // one; and the policies that need more than that.
  void apply_writes(Task& t, trace::SyscallEvent::Reader sc);
  void finish_emulated(Task& t, trace::SyscallEvent::Reader sc);
  Status check_result(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, int64_t got);
  Status replay_clone_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt, ReplayTask::Where where);
  Status replay_memory_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  Status replay_exit_call(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  Status apply_syscall_entry(trace::Frame::Reader f, trace::SyscallEntryEvent::Reader ev, ReplayTask& rt);
  Status apply_tracer_changes(trace::Frame::Reader f, trace::SyscallEvent::Reader sc);
  // `always_default`: the action becomes the default even when it was caught
  // (a signal that must end the thread).
  void force_as_kernel(Task& t, int sig, bool always_default = false);
  Status apply_signal(trace::Frame::Reader f, trace::SignalEvent::Reader ev, ReplayTask& rt);
  Status apply_rdtsc(trace::Frame::Reader f, trace::RdtscEvent::Reader ev, ReplayTask& rt);
  Status install_image_counter(Task& t, trace::ExecImage::Reader image);
  // The progress counter's part of it: the counter page and the rewrites.
  Status install_image_rewrite(Task& t, trace::ExecImage::Reader image);
  Status apply_progress(trace::Frame::Reader f, trace::ProgressEvent::Reader ev, ReplayTask& rt);
  Status apply_site_trap(trace::Frame::Reader f, trace::ProgressEvent::Reader ev, ReplayTask& rt);
  Status apply_exit(trace::Frame::Reader f, trace::ExitEvent::Reader ev, ReplayTask& rt);
  // Runs `rt` to its next syscall entry and checks the registers there.
  Status reach_syscall_entry(trace::Frame::Reader f, int64_t nr, trace::Registers::Reader expected, ReplayTask& rt);
  // Resumes the tracee and waits; passes the pending signal. With debugger
  // stops, a Sysemu resume runs the event's stretch of user code: nullopt
  // when it stopped for the debugger (pause_), else the event's stop. An
  // event stopped inside is applied again up to here, so what an apply_*
  // does before this resume must be harmless to do twice, or skipped
  // while inside_ is set (restart_without_signal is).
  std::optional<WaitStatus> resume_and_wait(ReplayTask& rt, ResumeHow how);
  // Before `rt` runs to its next syscall entry: when it stands at the exit
  // of an interrupted syscall (see core/syscall_restart.h) and no signal is
  // to be delivered, does what the recording's kernel did then, the restart
  // without a handler.
  void restart_without_signal(ReplayTask& rt);
  // The stretch of user code `rt` is stopped in: runs the piece `req`
  // asks for (traps armed only while it runs) and stops for the debugger
  // at its trap, or where the stretch reaches the event's stop (kept in
  // inside_, for the resume of the event's next apply()). When the task
  // was just put at a signal handler's first instruction, a first step
  // piece is that entry (nothing more runs for it).
  void run_piece(ReplayTask& rt, RunRequest req);
  // Stops the event being applied for the debugger: apply() and its parts
  // return at once, and run() keeps the frame to apply it again.
  void pause(ReplayStop::Kind kind, const ReplayTask& rt, const TrapHit& hit = {});
  // Waits for `rt`, passing over signals the replay itself caused (a real
  // child's SIGCHLD): every signal the program sees comes from the trace.
  WaitStatus wait_filtered(ReplayTask& rt, ResumeHow how);
  // Runs the syscall the tracee is stopped at the entry of, for real.
  Registers execute_in_place(ReplayTask& rt);
  // From a SYSEMU entry stop: sets `regs` with syscall `nr` and runs the
  // task back into the entry of that syscall, which this time will run.
  // False, with the stop in *st, if it stops elsewhere.
  bool reenter_syscall(ReplayTask& rt, Registers regs, int64_t nr, WaitStatus* st);
  // Runs the fork/vfork/clone/clone3 `rt` is stopped at the entry of, for
  // real (a vfork as a fork), and adopts the new task as `recorded_child`.
  // With `keep_vfork` a vfork stays one (the parent is left inside the
  // kernel, in_vfork); else it runs as a fork.
  // `ns_tids`: the child's tids in the program's PID namespaces
  // (SyscallEvent.childNsTids).
  Status execute_clone(trace::Frame::Reader f, ReplayTask& rt, RecordedTid recorded_child, std::vector<pid_t> ns_tids,
                       bool keep_vfork);
  // unshare with CLONE_NEWPID, run again with that flag alone.
  Status replay_unshare_pid_ns(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  // Replays an execve: the new image replaces the old one in place, or in a
  // fresh process for a vfork child (whose memory is its parent's).
  Status replay_exec(trace::Frame::Reader f, ReplayTask& rt, trace::ExecImage::Reader image);
  // Moves a vfork child out of its parent's memory, into a fresh process
  // with what execve keeps (ignored signals, the signal mask), and ends the
  // vfork child, which lets the parent go on. Its new image comes later.
  Status detach_vfork_child(ReplayTask& rt);
  // What execve keeps of a task's signal state: ignored signals and the mask.
  struct ExecKept {
    uint64_t ignored, blocked;
  };
  static ExecKept kept_by_exec(const Task& t);
  // A fresh process, as the recorded pid `recorded`, with `kept` set: a new
  // image goes there.
  Result<std::unique_ptr<Task>> spawn_exec_process(RecordedTid recorded, ExecKept kept, int ns_fd,
                                                   const std::vector<pid_t>& ns_tids);
  // A live task's tids in the PID namespaces the program made (its NSpid
  // after the supervisor's and replay's own), outermost first.
  std::vector<pid_t> program_ns_tids(pid_t live) const;
  // An execve from a thread other than the leader: the process is replaced
  // by a fresh one, and `rt` becomes its only thread, with the leader's tid.
  Status exec_from_thread(ReplayTask& rt);
  // Ends the other threads of `rt`'s process (before its exec).
  void retire_other_threads(ReplayTask& rt);
  Status check_regs(trace::Frame::Reader f, Task& t, const char* what, const Registers& expected);
  // Once event `f` has been applied: its task's FPU state against the
  // recording's (Frame.fpuDigest), a divergence when they differ.
  Status check_fpu_after(trace::Frame::Reader f);
  // The syscall buffer (replay_buffer.cc, docs/syscall-buffer.md): the
  // event's records written into its task's buffer before its user code
  // runs, and checked and emptied once the event's stop is reached.
  void feed_buffered_records(trace::Frame::Reader f);
  Status apply_fd_gate(trace::Frame::Reader f);
  Status finish_buffered_records(trace::Frame::Reader f, ReplayTask& rt);
  void lock_buffers(trace::Frame::Reader f);
  Error divergence(trace::Frame::Reader f, const std::string& what);
  // Echoes (with -a) what the call wrote to the original stdout or stderr,
  // after checking it is what the recording wrote there (SyscallEvent.echo).
  Status echo_write(trace::Frame::Reader f, Task& t, trace::SyscallEvent::Reader sc);
  Status spawn_stub(RecordedTid recorded);
  // Clone helpers (replay_clone.cc): this (new) session gets a copy of
  // `from`'s process `tgid`, forked from its leader, its other threads
  // re-created.
  Status copy_process(ReplaySession& from, RecordedTid tgid, std::map<const FdTable*, std::shared_ptr<FdTable>>& tables);
  // Whether the process of `member` (any of its threads: its leader may
  // have ended before them) maps memory that a copy of it would share with
  // it (or a restore would split): shared mappings other than read-only
  // copies of trace files.
  bool maps_shared_memory(const ReplayTask& member) const;
  // can_checkpoint(): nothing is under way.
  bool at_rest() const { return why_not_at_rest().empty(); }
  std::string why_not_at_rest() const;
  // Whether two processes of the replay share their memory now (neither a
  // checkpoint nor a copy can rebuild that yet).
  bool processes_share_memory() const;
  // Whether processes share something a fork of each would not keep apart
  // or together: an fd table, memory mapped shared (not a read-only trace
  // copy), or an attached System V segment (clone() refuses then).
  bool shares_between_processes() const;
  // Whether a process maps an emulated file now.
  bool maps_emulated_file() const;
  // Waits until `rt` stops at PTRACE_EVENT_EXIT or ends (end_seen); false
  // with the stop in *other if it stops otherwise.
  bool wait_for_end_stop(ReplayTask& rt, WaitStatus* other);

  // The next frame, read ahead of time (see peek()).
  Result<std::optional<FrameData>> take_next();
  const FrameData* peek();
  // A file descriptor (of this process) holding the emulated copy of a
  // trace file (the shared-files list): a memfd made from the trace's copy,
  // which every mapping of the file maps and FileChanges change.
  int emulated_file(const std::string& trace_file);
  // System V shared memory (replay_shm.cc): shmat and shmdt, what shmget
  // and shmctl(IPC_RMID) mean for replay's copies of the segments, and
  // whether a process has one attached (checkpoints and copies of the
  // session cannot keep a segment shared yet).
  Status replay_shm_attach(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  Status replay_shm_detach(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt);
  void note_shm_call(trace::SyscallEvent::Reader sc);
  // Whether a task maps replay's copy of a segment (`inode`; 0: any).
  bool maps_segment(uint64_t inode) const;
  // Makes the FileChanges of syscall `sc` to the emulated copies.
  Status apply_file_changes(trace::Frame::Reader f, trace::SyscallEvent::Reader sc);
  // For a syscall that swaps the signal mask while it waits (rt_sigsuspend,
  // ppoll, pselect6, epoll_pwait): when a signal is delivered right after it,
  // runs rt_sigsuspend with the same mask so that the kernel sets up the
  // delivery exactly as it did in the recording. Returns true if it did.
  bool replay_mask_swap(ReplayTask& rt, trace::SyscallEvent::Reader sc);

  std::unique_ptr<TraceReader> reader_;
  // Where new tasks go, to get their recorded tids (nullptr: translated).
  // A clone's is nested in its source's.
  std::shared_ptr<PidNamespace> ns_;
  // First processes of PID namespaces the program made whose end is under
  // way: the kernel ends them once the rest of their namespace is gone.
  // Reaped as they end (reap_ending_inits), or killed with the session.
  std::vector<std::unique_ptr<Task>> ending_inits_;
  void reap_ending_inits();
  std::optional<FrameData> lookahead_;
  StreamPos next_frame_pos_;       // position of the frame after current_event_
  std::set<std::string> shared_files_;
  std::map<std::string, ScopedFd> emulated_files_;
  std::map<int64_t, ShmSegment> shm_segments_;  // by the recording's id
  RecordedTid initial_tid_;                            // the first process
  ReplayCounters counters_;
  uint64_t current_event_ = 0;
  bool at_end_ = false;
  // Whether the trace's FPU digests were taken over this machine's XSAVE
  // layout (its header's xsaveSize); not where RR_IGNORE_MACHINE lets a
  // trace of another layout replay.
  bool fpu_comparable_ = true;
  bool exited_ = false;
  int exit_code_ = 0;
  int killed_by_ = 0;
  bool echo_ = true;
  WriteTracker* write_tracker_ = nullptr;
  std::function<void(uint64_t)> progress_;
  bool debugger_stops_ = false;
  bool report_ticks_ = false;
  // The event being applied is a ProgressEvent's count: replay armed the
  // counter for it, and a piece must not arm it past that trap.
  bool progress_stretch_ = false;
  SignalStop signal_stop_;  // of the event being applied (with debugger stops)
  RecordedTid exec_applied_;  // the process the event being applied exec'd (0: none)
  ReplayStop::Fork forked_;    // the process the event being applied made (child 0: none)
  RecordedTid vfork_done_;     // the vfork parent the event being applied let go (0: none)
  // The event run() stopped inside (its frame, its stretch): the next
  // apply() of the frame goes on from there at resume_and_wait(), the
  // event's one resume of user code, what comes before it being done
  // again or skipped.
  std::unique_ptr<InsideEvent> inside_;
  // The stop apply() is returning for: once it is set, every part of
  // apply() returns at once, and run() returns it.
  std::optional<ReplayStop> pause_;
  const RunRequest* request_ = nullptr;  // what the run() under way asked for
  std::string buffer_read_back_;  // the syscall buffer as an event's stop found it (kept for its capacity)
};

}  // namespace rr
