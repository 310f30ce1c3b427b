// RecordSession: runs a program under ptrace and writes its trace. Between
// two events exactly one thread runs user code; every syscall is recorded at
// its exit with the bytes the kernel wrote; rdtsc traps and is emulated;
// asynchronous signals are delivered only at events. Processes and threads
// are all traced; the order in which they run is the order of their events
// in the trace. See docs/architecture.md, "Determinism".
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/fd_table.h"
#include "core/progress_counter.h"
#include "core/registers.h"
#include "core/session.h"
#include "core/state_view.h"
#include "core/task.h"
#include "core/task_state.h"
#include "record/echo_capture.h"
#include "record/outside_signals.h"
#include "core/syscall_table.h"
#include "trace/file_store.h"
#include "trace/trace_files.h"
#include "util/byte_buffer.h"
#include "util/result.h"
#include "util/scoped_fd.h"

namespace rr {

class RemoteSyscalls;
class ReplayCounterModel;

// In the program's process before its execve, once rr traces it with
// PTRACE_O_TRACESECCOMP: the syscall buffer's seccomp filter
// (record_buffer.cc). Returns 0 or an errno.
int install_syscall_buffer_filter();
// The data of that filter's SECCOMP_RET_TRACE, which a seccomp stop's event
// message shows unless a program's own filter (installed later, so it wins
// a tie) returned SECCOMP_RET_TRACE too.
constexpr uint32_t kBufferFilterData = 0x7272;

// --checkpoint-every N / Ns: the points where checkpoints are asked for
// while recording, every `events` events or every `seconds` of recording
// (one of them nonzero).
struct CheckpointEvery {
  uint64_t events = 0;
  double seconds = 0;
  bool on() const { return events > 0 || seconds > 0; }
};

// Told of each point of --checkpoint-every in the trace `trace_dir` once
// the events file holds its frame and the next one (what a replay reads to
// apply it), and the shared-files list is written as it stands: `event` is
// the point, `shared_files` how many files that list names now.
using CheckpointPointHook = std::function<void(const std::string& trace_dir, uint64_t event, size_t shared_files)>;

// The recorder's processes at the event whose frame it has just written,
// described as a replay has them there (record/record_state.cc), for a
// writer of checkpoints that copies them instead of replaying the trace
// (checkpoint/record_writer.cc). Told only where every live thread stands
// where replay would hold it and nothing in the processes is replay's own
// (RecordSession::copy_refusal).
struct RecordPoint {
  uint64_t point = 0;   // the point asked for (--checkpoint-every)
  // It could not be had before the next point was due, or before the
  // recording ended (`why`: the last reason); nothing else is set but the
  // trace's directory and id and the shared-files list's length (the
  // events stream flushed, the list written), and `event` for a job that
  // failed (`job_failed`: the point was counted when it started; `stop`:
  // the copying ends, as after an error writing).
  bool missed = false;
  bool recording_ended = false;  // missed: told once the program has ended
  // missed: the events stream is flushed and the shared-files list written,
  // for a replay beside the recording (RecordOptions::share_missed_points)
  bool shared = false;
  bool job_failed = false;
  bool stop = false;
  std::string why;
  uint64_t event = 0;   // the event whose frame was just written, at or after `point`
  size_t shared_files = 0;  // how many files the shared-files list names now
  std::string trace_dir, uuid;
  StreamPos next_frame;      // where the events stream's next frame goes (flushed)
  ReplayCounters counters;   // replay's, from the frames (ReplayCounterModel)
  RecordedTid initial_tid;
  struct Thread {
    Task* task;
    RecordedTid tgid;
    bool altstack_disabled;  // RecordTask::altstack_disabled
    const FdTable* fds;
    // Inside a blocking call whose entry is an event: its state there
    // (the writer makes no call inside it and reads nothing from it).
    std::optional<HeldAtEntry> held;
  };
  std::vector<Thread> threads;
  // Processes whose every thread is held inside a call, where the writer
  // can make no call: what it would ask them, as the recorder knows it
  // (RecordTask::known_actions, known_layout). Their pages are read from them at once,
  // and `asleep_intact` says whether their threads slept throughout.
  std::map<RecordedTid, ProcessAsleep> asleep;
  std::function<Status()> asleep_intact;
  // The trace's name for a file mapping, or why it has none (`reason` set).
  std::function<MappingName(Task& t, const MapEntry& e, std::string& reason)> name;
  // Why a mapping cannot be copied (RecordSession::copy_mapping_problem,
  // checked over every mapping before the point is told); empty: it can.
  std::function<std::string(const MapEntry& e)> mapping_problem;
  // The trace's copy of `t`'s executable (/proc/PID/exe, `path` as it
  // shows it), named as an exec's image names it.
  std::function<Result<std::string>(Task& t, const std::string& path)> exe_in_trace;
  // Replay's values of rr's own bytes in `t`'s process.
  std::function<MemoryOverlay(Task& t)> overlay;
  // Runs `body` with calls inside the thread `t`, handing what came
  // meanwhile back to the recorder; throws FatalError if `t` ended.
  std::function<void(Task& t, const std::function<void(RemoteSyscalls&)>& body)> calls_inside;
  // A copy of the process `leader` belongs to, made now by a fork inside
  // it (copy-on-write: its memory stays this moment's while the program
  // runs on), stopped for good; the recorder kills it once the job the
  // hook returned has ended.
  std::function<Result<Task*>(Task& leader)> copy_of;
  // After a failure inside the threads' calls: whether a thread ended under them.
  std::function<bool()> interrupted;
  // Whether every copy made is still stopped as it was made (read by the
  // job, on its thread).
  std::function<Status()> copies_intact;
};
// What is left of writing a checkpoint once the program may run on: run on
// a thread of the recorder's, beside the recording; an error ends the
// copying for this recording (the job says why).
using CopyJob = std::function<Status()>;
// Starts a checkpoint of `point`: reads what must be read now and returns
// the rest as a job (empty: nothing left, or `point.missed`). An
// Unsupported error: none can be written at this event (the point waits
// for a later one); any other error ends the copying (the hook says why).
using CopyPointHook = std::function<Result<CopyJob>(const RecordPoint& point)>;

struct RecordOptions {
  std::string output_dir;          // -o: the trace directory, exactly; else a new <exe>-<n>
  std::vector<std::string> argv;   // the program and its arguments
  bool quiet = false;              // do not print where the trace went
  // How long a thread may run without an event while another thread waits
  // to run (or a signal waits for it) before recording stops with a message.
  int spin_limit_ms = 3000;
  // Rewrite the branches of the program's code to count them
  // (docs/progress-counter.md), so that threads can be preempted and
  // signals delivered between syscalls: on by default,
  // --no-progress-counter turns it off.
  bool progress_counter = true;
  // --timeslice: counted branches a thread runs before the recorder looks
  // whether another thread or a signal waits for it.
  uint64_t timeslice = 1000000;
  // --chaos (needs progress_counter): timeslices of random length up to
  // `timeslice` and threads picked by random priorities, drawn from
  // `chaos_seed`, so that orderings a fair scheduler never makes show up
  // (record/record_progress.cc). The seed is in the trace header.
  bool chaos = false;
  uint64_t chaos_seed = 0;
  // Record the frequent syscalls inside the tracee, without a ptrace stop
  // (docs/syscall-buffer.md): the default; --no-syscall-buffer turns it
  // off, --syscall-buffer on again.
  bool syscall_buffer = true;
  // -w / --wait: the recording ends when every recorded process has ended.
  // Without it, it ends with the initial process: what is left then (a
  // daemon, a stopped tracee, a sleeping child) is killed, as rr does.
  bool wait_for_all = false;
  // --checkpoint-every: `on_point` is called at each point (see
  // CheckpointPointHook); the caller writes the checkpoints.
  CheckpointEvery checkpoint_every;
  CheckpointPointHook on_point;
  // With checkpoint_every: checkpoints copied from the recorded processes
  // at each point (or the first event after it where they can be), instead
  // of on_point's replay that follows the recording.
  CopyPointHook on_copy_point;
  // With on_copy_point: asked at each point missed while the program runs,
  // whether a replay beside the recording may be told it. If so, the
  // events stream is flushed and the shared-files list written first, so
  // that the replay can read that far; if not (unset, or false), the
  // recorder does neither, and the point comes with only its trace's
  // directory and id.
  std::function<bool()> share_missed_points;
};

// One traced thread and what the recorder keeps about it. A thread group
// leader that exits before its threads is no longer one: the session keeps
// its thread until the last of them ends (Session::keep_zombie_leader).
struct RecordTask : SessionTask {
  enum class State {
    Ready,        // stopped; its last stop is handled and it waits for its turn
    Unprocessed,  // stopped; `pending` not handled yet
    InKernel,     // inside a syscall whose entry is recorded; may block
    Running,      // the one thread allowed to run user code
    GroupStopped, // in a group stop (SIGSTOP and the like): waits for a SIGCONT
    EchoWait,     // at the entry of a write to stdout/stderr while another thread's
                  // is in the kernel: waits for that one's exit (`pending` is the entry)
    TracerStopped,  // in a ptrace stop of a tracer inside the recording (`tracee.stop`):
                    // waits for that tracer's resuming request
    TracerWaiting,  // a tracer at the entry of a wait only its tracees' stops or ends
                    // can satisfy (the kernel knows no such child): handled again
                    // from the start when one comes (`pending` is the entry)
    Spinning,       // at a spin site (`spin_regs`), where it would loop changing nothing
                    // until a signal or its death: parked in a pause() of ours until
                    // one comes (record/record_progress.cc)
  };
  State state = State::Ready;
  WaitStatus pending;                 // the unhandled stop (Unprocessed)
  bool in_syscall = false;            // between a syscall's entry and exit stops
  bool entry_recorded = false;        // its entry is an event: a SyscallEntryEvent, or exit's frame
  bool exec_seen = false;             // PTRACE_EVENT_EXEC seen during the current syscall
  bool exit_recorded = false;         // its ExitEvent is written
  RecordedTid new_child;              // the task the current clone-family syscall created
  bool new_child_vfork = false;       // with new_child: made by a vfork (the parent waits for its exec or end)
  std::vector<pid_t> new_child_ns_tids;  // its tids in PID namespaces below ours (NSpid after the first)
  // Its tids in our PID namespace and in each one below it down to its own
  // (NSpid), and those namespaces' inodes, as they were when it was made;
  // empty for a task of our namespace. A tracer inside a namespace the
  // program made names tasks by the tids of its own level.
  std::vector<pid_t> ns_ids;
  std::vector<uint64_t> ns_chain;
  // Whether PTRACE_O_TRACESECCOMP is among the kernel's options for it
  // (unknown for a new task): on while the syscall buffer's filter or a
  // tracer inside the recording needs its seccomp stops.
  std::optional<bool> seccomp_events;
  Registers entry_regs;               // registers at the current syscall's entry
  uint64_t entry_fpu = 0;             // fpu_digest at that entry (for an entry event written
                                      // later, when the task runs in the kernel)
  std::string entry_xsave;            // its XSAVE area at that entry (empty: the kernel gave none)
  // While the copying writer may copy it held inside a blocking call
  // (RecordSession::copies_held): its signal mask at that entry, ...
  std::optional<uint64_t> entry_sigmask;
  // ... the kernel state of its own (signal stack, robust list, tid
  // address) as read when it last went to run user code, dropped by what
  // may change it (a signal's delivery, the calls that set it, an exec) ...
  std::optional<TaskKernelState> own_kernel_state;
  bool own_kernel_state_unread = false;  // reading it failed: not tried again until it changes
  // ... and, once it waits inside the call (held_call_seen), why it cannot
  // be copied there (a call that may write its outputs before it returns;
  // empty: none).
  bool held_call_seen = false;
  std::string held_refusal;
  Registers last_event_regs;          // registers when its last event ended
  int deliver_sig = 0;                // signal to pass at the next resume
  std::unique_ptr<capnp::MallocMessageBuilder> pending_signal_frame;  // written after delivery
  std::vector<siginfo_t> held;        // async signals waiting for an event
  std::map<int, siginfo_t> injected;  // re-sent held signals, by number
  SyscallArgs interrupted;            // the last call interrupted with ERESTART_RESTARTBLOCK
  // Its last event is the exit of an interrupted syscall (core/
  // syscall_restart.h) and the kernel has not shown yet whether a signal
  // turns it into EINTR or the call restarts.
  bool restart_undecided = false;
  std::chrono::steady_clock::time_point ran_since;  // when it last started running user code
  // Its CPU time (ns) at the first look of check_long_run during that run
  // (0: none yet), and when that was: /proc is read only for a long run,
  // never at each event.
  uint64_t cpu_ns_sampled = 0;
  std::chrono::steady_clock::time_point cpu_sampled_at;
  RecordedTid exec_former_tid;         // it execed from a non-leader thread: its tid until the execve's frame
  EchoCapture echo;                    // bytes its current syscall moves to stdout/stderr from another fd
  ByteBuffer buffered_records;         // syscall buffer records taken from its process, for its next frame
  std::string gate_written;            // the fd gate refresh_fd_gate wrote before its stretch, for its next frame
  // Every call it makes must reach the recorder: a program's seccomp filter
  // judges its calls, or a tracer inside the recording traces it. Its
  // process's buffer is locked (so the library makes every call the traced
  // way) and it runs under PTRACE_SYSCALL, whose entry stop comes before any
  // filter. Kept for good and passed to the tasks it makes, as filters are.
  bool unbuffered = false;
  // Its desched event (record/record_buffer.cc, struct rr_desched): where
  // the library keeps the struct (0: it has not asked), whether the event
  // is to be opened before the thread runs user code again (a forked child,
  // under the number `desched_fd` its parent's had), the event's descriptor
  // in the tracee (-1: none) and the recorder's copy of it, which disables
  // it at a stop. `desched_inherited`: the events of its parent's threads a
  // fork left open in it, closed with that opening.
  uint64_t desched_slot = 0;
  bool desched_wanted = false;
  int desched_fd = -1;
  ScopedFd desched_copy;
  std::vector<int> desched_inherited;
  // rr sent it a SIGSTOP because it sleeps in a buffered call with no
  // desched signal to wake it (kick_blocked_buffered_call).
  bool desched_kicked = false;
  // It (or a task it came from) installed a seccomp filter or set
  // no_new_privs itself: prctl's answers show those, not the buffer's
  // filter and the no_new_privs it needs (RecordSession::show_native_prctl).
  bool own_seccomp = false;
  bool own_no_new_privs = false;
  // Debug registers its tracer set (PTRACE_POKEUSER), as debug_regs_in_use
  // keeps them. A copy would lack them, so none is made while any is set;
  // an exec clears them.
  uint8_t tracer_debug = 0;
  // The kernel keeps SS_DISABLE as its alternate signal stack's flags (it
  // dropped one, or was made sharing memory), as ReplayTask::altstack_disabled.
  bool altstack_disabled = false;
  bool altstack_set = false;  // a stack is set (sigaltstack), as replay's task has it
  // It was made by, or made, a process sharing its memory (CLONE_VM
  // without CLONE_THREAD or CLONE_VFORK), or is a thread of one.
  bool shares_memory = false;
  // The recorder's calls inside it met its end (a SIGKILL: another
  // process's, or its PID namespace's): what the recorder was doing for it
  // (an exec's image, a library's rewriting) is dropped, and its end is its
  // next event (after_calls_inside).
  bool died_in_calls = false;
  // Its current syscall installs a seccomp filter that the recorder moved,
  // with its prefix, into the scratch page (record/seccomp_prefix.h): the
  // argument it changed (-1: none), its value and the scratch bytes before.
  struct {
    int arg = -1;
    uint64_t value = 0;
    std::string scratch;
  } moved_filter;
  // SIGSEGV and SIGILL as the program left them: which of the two this
  // thread blocks (a mask of their bits), and its process's handlers and
  // flags (shared by threads). Trapping rdtsc (PR_SET_TSC) forces a
  // SIGSEGV, an rdrand or rdseed made a ud2 (core/random_insns.h) a SIGILL,
  // and the kernel unblocks a blocked one and resets its handler when it
  // was blocked or ignored: the recorder puts both back (record_events.cc,
  // try_emulate_rdtsc, try_emulate_random).
  uint64_t trap_blocked = 0;
  struct SegvAction {
    uint64_t handler = 0;  // SIG_DFL
    uint64_t flags = 0;
  };
  struct TrapActions {
    SegvAction segv, ill;
    SegvAction& of(int sig) { return sig == SIGILL ? ill : segv; }
  };
  std::shared_ptr<TrapActions> traps = std::make_shared<TrapActions>();
  // For the copying writer, what only calls inside the process tell: its
  // signal actions, shared by what shares its handlers (threads,
  // CLONE_SIGHAND), and its layout (LayoutByCalls), shared by what shares
  // its memory (CLONE_VM). Read when one of its threads goes to run user
  // code and something is missing or stale (RecordSession::
  // read_process_known), marked stale by what may change it
  // (note_known_changes, note_known_delivery). A process whose every thread
  // waits inside a call is copied with them (RecordSession::copy_refusal).
  struct ActionsKnown {
    std::optional<std::vector<std::pair<int, std::string>>> actions;
    uint64_t stale = 0;   // signals (bit sig-1) whose action may have changed
    bool unread = false;  // reading failed: not tried again until something changes
    // Made by an exec, whose actions are the default but for the ignored
    // signals, which keep SIG_IGN and nothing else: read from /proc, with
    // calls only for those marked stale since.
    bool from_exec = false;
    bool complete() const { return actions && stale == 0; }
  };
  struct LayoutKnown {
    std::optional<LayoutByCalls> layout;
    bool brk_stale = false;  // a break-changing call not seen returning
    bool unread = false;
    bool complete() const { return layout && !brk_stale; }
  };
  std::shared_ptr<ActionsKnown> known_actions = std::make_shared<ActionsKnown>();
  std::shared_ptr<LayoutKnown> known_layout = std::make_shared<LayoutKnown>();
  bool knows_process() const { return known_actions->complete() && known_layout->complete(); }
  // Whether a read would tell something new (not failed before since the last change).
  bool may_read_process() const {
    return (!known_actions->complete() && !known_actions->unread) ||
           (!known_layout->complete() && !known_layout->unread);
  }
  // Ptrace between tracees (record/record_ptrace.cc). The kernel's tracer of
  // every tracee is rr, so a tracer inside the recording is emulated: its
  // requests are answered by the recorder, the tracee's stops it would see
  // are held for it (TracerStopped) and reported to its waits.
  struct Traced {
    RecordedTid by;                 // the tracer's process (0: not traced)
    uint64_t options = 0;           // PTRACE_O_* set by SEIZE or SETOPTIONS
    bool seized = false;
    bool syscalls = false;          // resumed with PTRACE_SYSCALL: stops at syscall entries and exits
    enum class Stop { None, Signal, SyscallEntry, SyscallExit, Event, Group } stop = Stop::None;
    int status = 0;                 // the wait status the tracer's wait reports for the stop
    bool reported = false;          // a wait of the tracer took it
    WaitStatus real;                // the kernel stop it stands in (handled again when resumed)
    siginfo_t siginfo = {};         // GETSIGINFO's answer at the stop
    uint64_t event_msg = 0;         // GETEVENTMSG's answer
    bool entry_shown = false;       // its current syscall's entry stop was shown already
    bool seccomp_shown = false;     // and its seccomp stop (PTRACE_O_TRACESECCOMP)
    bool exit_shown = false;        // its PTRACE_EVENT_EXIT stop was shown already
    int group_stop_sig = 0;         // its process is in a group stop (by this signal) that no
                                    // SIGCONT ended: an interrupt reports it
    bool interrupting = false;      // PTRACE_INTERRUPT sent it rr's SIGSTOP to leave a syscall
    bool exit_stop_after_event = false;  // held at an exec event: a syscall-exit stop follows
    bool kernel_child = false;      // a process whose parent is its tracer: the kernel
                                    // reports its end to the tracer's waits
    bool step = false;              // resumed for one instruction (PTRACE_SINGLESTEP): its next run is a step
    bool sysemu = false;            // resumed with PTRACE_SYSEMU(_SINGLESTEP): its next syscall entry
                                    // stops for the tracer, and the kernel does not run the call
    bool skip_entry = false;        // held at an entry reached that way: the call is skipped when it goes on
    bool step_after_skip = false;   // resumed from there with SYSEMU_SINGLESTEP: a step follows the skipped call
    bool stepped = false;           // its last run was such a step: its SIGTRAP stop ends it
  } traced;
  // Its current syscall is one a tracer's PTRACE_SYSEMU skipped: the kernel
  // ran it as an invalid number, which leaves rax as the tracer set it.
  bool skipped_by_tracer = false;
  // rr sent it a SIGSTOP to end a wait of a tracer that blocks SIGCHLD (the
  // SIGCHLD of its tracee's stop would not): not the program's, not delivered.
  bool kicked = false;
  // A call the recorder answered itself (ptrace, a wait for an emulated
  // tracee's stop): the kernel ran it as an invalid number, and its result
  // is put in place at the exit stop.
  std::optional<int64_t> answered;
  // What the current ptrace request changed in its tracee, for its frame
  // (replay makes the same changes): the tracee, its registers after the
  // call, and bytes written into its memory.
  struct {
    RecordedTid tracee;
    std::optional<Registers> regs;
    std::vector<std::pair<uint64_t, std::string>> writes;
    std::string xsave;
    bool step = false;  // the call resumed the tracee for one instruction
    int debug_reg = -1;  // the debug register the call set (POKEUSER), and its value
    uint64_t debug_value = 0;
  } ptrace_effect;
  // The progress counter (record/record_progress.cc): the event number at
  // which it was last armed for this thread (the start of its stretch), the
  // counted branches that arming allowed, and those of the stretch before it.
  uint64_t counter_armed_at = 0;
  uint64_t ticks_armed = 0;
  uint64_t ticks_before = 0;
  // Replay's value of its process's counter slot less the recording's, at
  // event boundaries (kept only with RR_RECORD_STATE, record/record_state.cc):
  // the recorder's writes to the slot (arming, nudges) change it, a trap's
  // event, where both are 0, clears it. Shared by the tasks that share the
  // slot (its memory).
  std::shared_ptr<uint64_t> counter_delta = std::make_shared<uint64_t>(0);
  uint64_t chaos_priority = 0;  // --chaos: the ready thread with the highest runs first
  // Spinning: its registers at the spin site, put back at its next stop.
  std::optional<Registers> spin_regs;
  // Spinning at a poll site (a loop that only reads): it waits for memory to
  // change, so it is woken when another thread has had an event since
  // `parked_at_change` (RecordSession::changes_); `poll_kicked`: rr's
  // SIGSTOP that wakes it is on its way (not the program's, not delivered).
  bool poll_parked = false;
  uint64_t parked_at_change = 0;
  bool poll_kicked = false;
  // A long run while others wait: rr's SIGSTOP that asks it to trap at its
  // next counted branch is on its way (`nudge_kicked`), or was applied in
  // this stretch (`nudged`: `remaining` was set to 1; RecordSession::on_nudge).
  bool nudge_kicked = false;
  bool nudged = false;
  pid_t tid() const { return task->tid(); }
  // Its process's live pid: while recording, the recorded one is the live one.
  pid_t live_tgid() const { return tgid.value; }
  // The tid its next frame names (the one that entered the syscall).
  RecordedTid frame_tid() const { return exec_former_tid.value ? exec_former_tid : recorded(); }
};

// The mapping a successful mmap of a file (`call`, at its exit) made, as
// /proc/PID/maps would list it (the inode only says "a file").
MapEntry file_mapping_made_by(const SyscallArgs& call, const std::string& name);

// The parent process of `tid`, as the kernel knows it (0 if gone).
pid_t parent_of(pid_t tid);

// Whether a task stopped with `regs` is at the end of a call that put in a
// signal mask of its own (ppoll, pselect6, epoll_pwait, epoll_pwait2,
// io_uring_enter, io_pgetevents, rt_sigsuspend) and was interrupted, or for
// io_pgetevents may have been (it keeps the mask while a signal is
// pending, events or not): the kernel keeps that
// mask until the signal is delivered and the program's own to put back
// after. No call may be injected there: a signal that comes during it is
// held by rr, and the kernel, finding none to deliver, puts the program's
// mask back, so the handler would run without the call's mask.
bool holds_call_sigmask(const Registers& regs);
// The same of the stopped `t` (false if its registers cannot be read: it died).
bool holds_call_sigmask(Task& t);

class RecordSession : public Session<RecordTask> {
 public:
  // Records the program; returns the exit status rr should exit with (the
  // program's, or 128+N when a signal N killed it).
  static Result<int> record(const RecordOptions& options);

 private:
  RecordSession(std::unique_ptr<TraceWriter> writer, std::string exe_path, int spin_limit_ms);
  ~RecordSession();
  Status spawn(const RecordOptions& options);
  Result<int> run();
  Status write_header(const RecordOptions& options);

  // Scheduling.
  RecordTask* pick_next();
  // A thread other than the leader execed: the kernel gave it the leader's
  // tid. Its record state moves to the leader's slot (`status` is the exec stop).
  void adopt_exec_thread(RecordedTid tgid, RecordedTid former, int status);
  bool others_ready(const RecordTask& t) const;
  Status handle_stop(RecordTask& t);
  // After a failure (FatalError) while the recorder handled the running
  // task: whether the task was killed from outside meanwhile (a SIGKILL
  // wakes a task from its ptrace stop and ends it, so the recorder's next
  // ptrace request or memory read fails). If so, the event it was at is
  // dropped and its end is handled next, as for a kill under the recorder's
  // own calls (after_calls_inside).
  bool ended_under_handling();
  // One turn of run()'s loop: false when no tracee is left to wait for.
  Result<bool> run_once();
  Status resume_running(RecordTask& t);
  // After `t` entered a syscall: waits briefly for it to return. If it
  // blocks, records its entry and lets other threads run.
  Status settle_syscall(RecordTask& t);
  // A call replay executes never returns later: `t` runs alone to its exit.
  static bool executed_in_replay(const SyscallDesc& desc);
  Status await_executed_call(RecordTask& t, const SyscallDesc& desc);
  Status record_entry(RecordTask& t);
  Status check_long_run();
  // The progress counter (record/record_progress.cc).
  Status install_progress_counter(RecordTask& rt, trace::ExecImage::Builder out);
  Status rewrite_mapped_code(RecordTask& rt, const SyscallArgs& call, const std::string& fd_path,
                             const std::string& name, trace::SyscallEvent::Builder sc);
  // Gives `setup` the images of its stubs and of the code of `m` (core/
  // code_image.h) where they can serve: the plan is stored, and for the
  // code, the file at `file_path` is settled and `m` is private and not
  // writable.
  void attach_code_image(CounterSetup& setup, const std::string& file_path, const MapEntry& m);
  // The file (device, inode) the code image `m` maps was made from; nullopt
  // for a mapping of no code image (a stubs image: its own sites are none).
  std::optional<std::pair<uint64_t, uint64_t>> image_origin(const MapEntry& m) const;
  void arm_for_stretch(RecordTask& rt);
  // The counted branches of the next timeslice: --timeslice, or under
  // --chaos a random length up to it (log-uniform: short ones are common).
  uint64_t next_timeslice();
  // --chaos: a ready thread by random priorities, drawn again now and then.
  RecordTask* pick_by_chaos();
  // The frame of the next event, of thread `tid`, as the root of `msg`.
  trace::Frame::Builder new_frame(capnp::MessageBuilder& msg, pid_t tid);
  // A ProgressEvent of `rt` at `regs`: a counter trap after `ticks`, a spin
  // site's trap, or a poll site's taken branch.
  enum class ProgressKind { Trap, Spin, Poll };
  Status write_progress_event(RecordTask& rt, const Registers& regs, uint64_t ticks, ProgressKind kind);
  Status on_counter_trap(RecordTask& rt, const Registers& regs);
  // A spin site's trap: an event, and the thread parks there.
  Status on_spin_trap(RecordTask& rt, Registers regs);
  // A poll site's trap: the branch is made here; a taken one is an event, and
  // the thread parks there when no other thread can change what it reads.
  Status on_poll_trap(RecordTask& rt, const PollSite& site, const Registers& regs);
  // Parks `rt` at `regs` (a spin or poll site) in a pause() of ours.
  void park(RecordTask& rt, const Registers& regs);
  // Threads parked at a poll site since an event of another thread are woken.
  void wake_pollers();
  // Whether `sig`, a SIGSTOP stop of `rt`, is rr's that wakes it from a poll site.
  bool our_wakeup(RecordTask& rt, int sig);
  // rr's own SIGSTOP: the poll site's wake-up or the long run's nudge.
  bool our_sigstop(RecordTask& rt, int sig, bool kicked);
  Status on_nudge(RecordTask& rt);
  // The next stop of a parked thread: a signal or its end wakes it at the
  // spin site (false: handle the stop as any); else it stays parked (true).
  bool still_parked(RecordTask& rt, const WaitStatus& st);
  // A stop signal's delivery stopped `t` with its process (a group stop).
  Status on_group_stop(RecordTask& t);
  // Group-stopped processes that a SIGCONT (or SIGKILL) reached go on.
  void continue_group_stops();
  // Signals sent to rr itself (record_outside.cc): passed on to the
  // program where it would have had them natively; a second interrupt
  // kills the tracees, whose ends are recorded, and the trace is finished.
  Status handle_outside_signals();
  bool tracees_have_signal(int sig, std::chrono::steady_clock::time_point arrived) const;
  bool sent_by_tracee(pid_t sender) const;
  void stop_at_once(int sig);
  void stash_status(pid_t pid, int status);

  // Stops of the running thread.
  void on_exec_done(RecordTask& t, trace::ExecImage::Builder image);
  Status on_syscall_entry(RecordTask& t);
  Status on_syscall_exit(RecordTask& t);
  Status on_signal(RecordTask& t, int sig);
  // The first process of a PID namespace got a fault it dies of untraced
  // (init_fault_needs_detach): its signal and exit are recorded, and it is
  // detached to die of it.
  Status end_init_by_fault(RecordTask& rt, int sig);
  Status on_new_task(RecordTask& parent, int event);
  Status on_exec_event(RecordTask& t);
  Status on_task_end(RecordTask& t, const WaitStatus& status, bool at_exit_stop);
  bool try_emulate_rdtsc(RecordTask& t, const siginfo_t& si);
  // rdrand and rdseed (record/record_random.cc, core/random_insns.h): those
  // of an image's code after execve, and of a file's code at the mmap that
  // maps it executable, become traps (their addresses go to `out`); at the
  // trap's SIGILL the recorder supplies a value and records it.
  Status install_random_sites(RecordTask& rt, trace::ExecImage::Builder out);
  void patch_mapped_random(RecordTask& rt, const SyscallArgs& call, const std::string& fd_path,
                           trace::SyscallEvent::Builder sc);
  std::vector<uint64_t> patch_random_sites(Task& t, const std::string& file_path, const MapEntry& m);
  // The rdrand sites of the file at `file_path` (found once per identity).
  struct RandomSites;
  const RandomSites& random_sites_of(const std::string& file_path, std::pair<uint64_t, uint64_t> id,
                                     const struct stat& st);
  std::vector<uint64_t> patch_sites(Task& t, const RandomSites& sites, const MapEntry& m);
  bool try_emulate_random(RecordTask& t, const siginfo_t& si);
  // Ptrace between tracees (record_ptrace.cc). emulate_ptrace answers a
  // ptrace call at its entry; answer_wait a wait4 or waitid of a tracer
  // that an emulated stop satisfies (false: the call goes to the kernel).
  Status emulate_ptrace(RecordTask& tracer);
  Result<bool> answer_wait(RecordTask& t);
  // Holds `t` in a stop its tracer sees, with wait status `status`; the
  // tracer gets its SIGCHLD.
  Status enter_tracer_stop(RecordTask& t, RecordTask::Traced::Stop kind, int status, const siginfo_t& si);
  // The tracer resumes `t` from its stop (CONT, SYSCALL, DETACH...); with
  // `sysemu`, its next syscall entry stops and the call is skipped.
  Status resume_tracee(RecordTask& tracer, RecordTask& t, bool syscalls, int sig, bool sysemu = false);
  // PTRACE_SINGLESTEP and SYSEMU_SINGLESTEP from tracer `rt` of stopped
  // tracee `o`: the tracee's next run is one instruction (or, for
  // SYSEMU_SINGLESTEP at a syscall instruction, up to that call's entry).
  Status single_step(RecordTask& rt, RecordTask& o, bool sysemu, int sig);
  // At a syscall entry of `rt`, before its program's seccomp filters run:
  // the kernel's PTRACE_O_TRACESECCOMP made to match what is needed.
  Status sync_seccomp_events(RecordTask& rt);
  // The data of the SECCOMP_RET_TRACE the program's filters return for
  // `rt`'s current call (its entry registers), or none when they return
  // another action.
  Result<std::optional<uint32_t>> seccomp_trace_data(RecordTask& rt);
  // The exit of a call a tracer's PTRACE_SYSEMU skipped.
  Status on_skipped_exit(RecordTask& rt);
  // After a syscall's exit event: its tracer's syscall-exit stop, when it
  // asked for one (true: `rt` is held for it).
  Result<bool> syscall_exit_stop(RecordTask& rt);
  // Tracees whose tracer process `tgid` ended are let go.
  void tracer_ended(RecordedTid tgid);
  // A traced task's clone, fork or vfork made `child` with its tracer's
  // option for that event on: the child is traced too, from a first stop
  // of its own, and the parent stops at the event.
  Status trace_new_task(RecordTask& parent, RecordTask& child, int event);
  // A wait of tracer `t` that only its tracees can satisfy and that would
  // block: it waits at its entry (TracerWaiting) instead of in the kernel.
  bool must_hold_wait(RecordTask& t);
  // Tracer threads of process `tgid` waiting at their entry look again.
  void wake_tracer(RecordedTid tgid);
  // A tracer in a wait in the kernel with SIGCHLD blocked gets rr's SIGSTOP,
  // which ends the wait (RecordTask::kicked).
  void kick_blocked_waiter(RecordTask& tracer);
  // The end of a traced task whose tracer is not its parent (or that is a
  // thread): the tracer's waits report it, as the kernel reports it to a
  // tracer before the parent.
  void note_traced_end(RecordTask& t, const WaitStatus& status);
  struct TracedEnd {
    RecordedTid tracer;
    pid_t tid = 0;  // as the tracer names it
    int status = 0;
  };
  std::vector<TracedEnd> traced_ends_;
  // Runs tracee `t`, just sent a signal for its tracer (PTRACE_ATTACH's
  // SIGSTOP, an interrupt), to the stop its tracer sees, so that the
  // tracer's next wait finds it as it would natively (a wait for a thread
  // cannot go to the kernel, which knows no such child). Gives up after 2 s
  // (the stop then comes in its turn).
  Status bring_to_tracer_stop(RecordTask& t);
  bool traces_any(RecordedTid tgid) const;
  RecordTask* thread_to_signal(RecordedTid tgid);
  // The pid by which task `viewer` names task `o` (its tid in viewer's PID
  // namespace), 0 when `o` is outside that namespace and those below it.
  static pid_t pid_seen_by(const RecordTask& viewer, const RecordTask& o);
  // The task `viewer` names `pid`, or nullptr.
  RecordTask* task_named_by(const RecordTask& viewer, pid_t pid);
  // The pid by which the tracer of `t` names task `o`.
  pid_t pid_for_tracer(const RecordTask& t, const RecordTask& o);
  // The kernel stop `t` is in is one its tracer sees: true when it is now
  // held for the tracer (the stop is recorded as it must be).
  Result<bool> tracer_sees_signal(RecordTask& t, int sig, const siginfo_t& si, const Registers& regs);
  Status finish_frame(capnp::MessageBuilder& msg);
  // A syscall frame of `rt`'s current call, as thread `tid`: its event,
  // number and entry registers.
  trace::SyscallEvent::Builder start_syscall_frame(RecordTask& rt, trace::Frame::Builder frame, pid_t tid);
  // The end of the frame of a syscall's exit: the exit registers `regs`,
  // the FPU digest, what the next stop is compared with (`undecided`: a
  // restart is still possible); written, and held signals injected.
  Status end_syscall_exit_frame(RecordTask& rt, capnp::MessageBuilder& msg, trace::Frame::Builder frame,
                                trace::SyscallEvent::Builder sc, const Registers& regs, bool undecided);
  // The syscall buffer (record_buffer.cc, docs/syscall-buffer.md).
  Status write_preload_library(std::string* path);
  void map_syscall_buffer(RecordTask& rt);
  // At an exec, before the image is captured: a program that needs ASan's
  // runtime gets no preloaded library (its link-order check would stop it).
  void preload_behind_sanitizer(RecordTask& rt);
  void stop_buffering(RecordTask& rt);
  // Blocking buffered calls (record_buffer.cc, struct rr_desched): the
  // library's request for a desched event, answered at its getppid's exit
  // with the event opened inside the thread; a stop the event's signal (or rr's
  // kick) made, where a buffered call that blocked is made to return
  // RR_RESULT_BLOCKED without running; and the kick, for a thread asleep in
  // a buffered call that no signal wakes (its event is gone or its signal
  // blocked).
  void answer_desched_request(RecordTask& rt);
  int open_desched(RecordTask& rt, int at);
  bool is_desched_stop(RecordTask& rt, int sig);
  Status on_desched(RecordTask& rt);
  void kick_blocked_buffered_call();
  void abort_interrupted_buffered_call(RecordTask& rt);
  std::chrono::steady_clock::time_point last_kick_look_;
  // The desched events of threads that ended, by process: closed inside the
  // process at its next thread's resume (close_orphan_desched).
  std::map<RecordedTid, std::vector<int>> orphan_desched_;
  void close_orphan_desched(RecordTask& rt);
  bool after_calls_inside(RecordTask& rt, const RemoteSyscalls& rs);
  // after_calls_inside's part that hands what came meanwhile back: signals
  // held for the thread's next event, a SIGSTOP sent again, an end to the loop.
  void hand_back_calls(RecordTask& rt, const RemoteSyscalls& rs);
  Status end_after_calls_inside(RecordTask& rt);
  Status take_buffered_records(RecordTask& rt);
  // Before the task runs user code: the syscall buffer's fd gate in its
  // memory shows its fd table and the files mapped now (struct rr_fd_gate).
  void refresh_fd_gate(RecordTask& rt);
  // Whether the library may read or write the task's `fd` without a stop,
  // and whether such a call may block (a pipe, a socket).
  struct FdGate {
    bool read = false, write = false, block = false;
  };
  FdGate fd_gate_for(RecordTask& rt, int fd, FdTable::Kind kind) const;
  Status write_shared_files();
  void inject_held_signals(RecordTask& t);
  SyscallArgs restart_call(RecordTask& t, const SyscallArgs& call);
  // At `t`'s first stop after an interrupted exit with registers `now`:
  // replay restarts the call unless a signal event comes first, so the
  // recording must show either a signal at that exit or the restarted entry.
  Status check_restart(RecordTask& t, const Registers& now, bool at_entry);
  // Files replay emulates (record_files.cc). For the mmap of a regular file
  // open at `fd_path` (stat `st`, named `name`): the trace copy the mapping
  // names, the emulated one where replay must share it.
  Result<std::string> mapped_file(RecordTask& t, const SyscallArgs& call, const std::string& fd_path,
                                  const struct stat& st, const std::string& name);
  // For a call that wrote to, resized or punched a file: the FileChanges of
  // an emulated file; an error for a file mapped from a plain copy.
  Status record_file_changes(RecordTask& t, const SyscallDesc& desc, const SyscallArgs& call,
                             trace::SyscallEvent::Builder sc);
  // Whether a tracee maps the file that /proc/PID/maps names `id` (device,
  // inode) now, leaving out [skip_start, skip_end) of process `skip_pid`.
  bool file_mapped_now(std::pair<uint64_t, uint64_t> id, pid_t skip_pid, uint64_t skip_start, uint64_t skip_end) const;
  // Follows what a syscall's exit and a handler's entry do to
  // RecordTask::trap_blocked and traps (on_new_task does a clone's), and
  // answers PR_GET_TSC as natively.
  void after_syscall_exit(RecordTask& rt, const SyscallArgs& call);
  void show_native_prctl(RecordTask& rt, SyscallArgs& call);
  void track_segv_at_handler(RecordTask& rt, int sig);
  // Puts back what forcing `sig` (SIGSEGV or SIGILL) changed, as `ev` says.
  void undo_forced_segv(RecordTask& rt, trace::RdtscEvent::Builder ev, int sig = SIGSEGV);
  Status record_shm_attach(RecordTask& rt, const SyscallArgs& call, std::vector<MemRange>& ranges, uint64_t* length);
  // For a call that wrote to the original stdout or stderr: echoFd and what
  // it wrote there, which `replay -a` echoes and checks.
  void record_echo(RecordTask& t, const SyscallDesc& desc, const SyscallArgs& call, trace::SyscallEvent::Builder sc);
  // Forgets an ended task (and its process's exit_group state with its last task).
  void remove_task(RecordedTid tid);
  // The echo gate. Two threads' writes to stdout or stderr, both in the
  // kernel at once, could land in one order and have their exits recorded
  // in the other, and `replay -a` would echo the lines swapped. So while
  // one such write is in the kernel with its entry recorded (echo_writer_),
  // another thread at the entry of one waits (EchoWait) until its exit is
  // recorded: the events' order is then the order the bytes arrived in.
  bool writes_to_echo(const RecordTask& t, const Registers& entry) const;
  // At the entry of a call installing a seccomp filter: installs it behind
  // the prefix instead; put back at the exit by restore_moved_filter.
  Status move_filter(RecordTask& t, const SyscallDesc& desc);
  void restore_moved_filter(RecordTask& t);
  Status record_self_mem_write(RecordTask& t, const SyscallDesc& desc, const SyscallArgs& call,
                               std::vector<MemRange>& ranges);
  // What the new descriptor `fd` of `t` is, where the syscall does not
  // say: the file rr's stdout or stderr was at the start, the process's own
  // /proc/PID/mem, or Other. Another tracee's memory open for writing is
  // refused (tracees writing each other's memory are not followed yet).
  Result<FdTable::Kind> classify_new_fd(RecordTask& t, int fd) const;
  // The same for descriptors a recvmsg or recvmmsg received (SCM_RIGHTS):
  // another process's /proc/PID/mem passed through a socket is followed
  // too. The recorder alone needs to know (what goes through them is in
  // the frames of the calls that use them).
  // A descriptor the task got (a call's result, SCM_RIGHTS): its kind,
  // marked in the task's table unless it is Other or an echo target (then
  // Other is returned).
  Result<FdTable::Kind> classify_and_mark_fd(RecordTask& t, int fd);
  Status classify_received_fds(RecordTask& t, const SyscallArgs& call);
  // Whether live pid `live_pid` is a thread of `t`'s process.
  bool same_process(const RecordTask& t, pid_t live_pid) const;
  void open_echo_gate(const RecordTask& t);

  std::unique_ptr<TraceWriter> writer_;
  FileStore files_;
  std::string exe_path_;
  std::map<pid_t, int> early_stops_;     // stops of new tasks seen before their parent's clone event
  std::set<RecordedTid> exiting_groups_; // processes in exit_group or a fatal signal
  // The first process of a PID namespace is ending (its last thread was let
  // go): the kernel kills every other process of the namespace (`ns`, the
  // inode of its /proc/TID/ns/pid), so none of them may make an event any
  // more (replay, where the namespace dies at once, could not follow).
  void namespace_ends(uint64_t ns);
  RecordTask* running_ = nullptr;
  const RecordTask* echo_writer_ = nullptr;  // the echo gate's holder (writes_to_echo)
  std::optional<std::pair<dev_t, ino_t>> output_files_[2];  // rr's stdout and stderr at the start
  RecordedTid last_scheduled_;
  int slice_events_ = 0;                 // events of running_ since it was picked
  RecordedTid initial_tgid_;
  std::string uuid_;                     // the trace's id (16 bytes), as its header holds it
  int initial_status_ = 0;               // the initial process's exit status (as rr's)
  bool initial_ended_ = false;
  bool wait_for_all_ = false;            // -w
  bool rest_killed_ = false;             // the initial process is gone and the others were killed
  // Without -w, once every thread of the initial process has ended, the
  // tracees left are killed; their ends are recorded as they come. After
  // that (or a second interrupt), a process that appears is killed too.
  void kill_rest_after_initial();
  int spin_limit_ms_ = 3000;
  bool progress_counter_ = false;        // RecordOptions::progress_counter
  PlanCache plans_;                      // its plans, made once per code and place
  bool syscall_buffer_ = false;          // RecordOptions::syscall_buffer
  std::vector<pid_t> locked_buffers_;    // buffers stop_buffering locked since the last frame (Frame.lockedBuffers)
  // What prctl(PR_GET_SECCOMP) and prctl(PR_GET_NO_NEW_PRIVS) answer in
  // rr itself: what a program started here has before it changes them
  // (the buffer's filter, and no_new_privs where it needs it, are ours).
  int inherited_seccomp_ = 0;
  int inherited_no_new_privs_ = 0;
  std::string preload_path_;             // the library LD_PRELOAD names (write_preload_library)
  uint64_t timeslice_ = 0;               // --timeslice (counted branches)
  bool chaos_ = false;                   // --chaos
  std::mt19937_64 chaos_rng_;            // drawn from the recorded seed
  uint64_t chaos_picks_ = 0;             // picks since the priorities were drawn
  uint64_t next_event_ = 1;
  // Events that may have changed memory (all but a poll site's taken
  // branch): a thread parked at a poll site wakes when this moves.
  uint64_t changes_ = 0;
  // --checkpoint-every (record_session.cc, note_checkpoint_point): the
  // next point by event or time, a point chosen whose next frame is not
  // written yet, and how many shared files the written list names.
  CheckpointEvery checkpoint_every_;
  CheckpointPointHook on_point_;
  uint64_t next_point_event_ = 0;
  std::chrono::steady_clock::time_point next_point_time_;
  std::optional<uint64_t> point_pending_;
  size_t shared_files_written_ = 0;
  // The first event of the run of frames that end tasks (frame_ends_a_task)
  // the last frame written belongs to; 0 when it ends none.
  uint64_t exit_run_start_ = 0;
  Status note_checkpoint_point(uint64_t written);
  // Whether a point is due once the frame of event `written` is written
  // (by events or by time); moves the next one on if so.
  bool point_due(uint64_t written);
  // --checkpoint-every with RecordOptions::on_copy_point: at a point, or
  // the first frame after it where the processes can be copied.
  Status note_copy_point(trace::Frame::Reader f);
  // Flushes the events stream and writes the shared-files list if it grew,
  // and names the trace and the list's length in `missed`.
  Status share_trace_so_far(RecordPoint& missed);
  // Why the recorder's processes cannot stand for replay's now (empty:
  // they can): a thread inside a syscall, a stop of another kind, a file
  // replay emulates. `for_copy` adds what the copying writer does not save.
  // With `held_states`, for_copy also gives the state each thread held
  // inside a call is saved with.
  std::string copy_refusal(bool for_copy, std::map<const RecordTask*, HeldAtEntry>* held_states = nullptr);
  // Whether `rt` runs inside a call whose entry is an event, where replay
  // holds it (with the registers and XSAVE area of that entry).
  bool held_at_entry(const RecordTask& rt);
  // Whether the copying writer may copy threads held inside blocking calls
  // (it copies at all): the recorder then keeps what it needs of them
  // (RecordTask::entry_sigmask, own_kernel_state, held_call_seen and
  // held_refusal).
  bool copies_held() const { return on_copy_point_ && checkpoint_every_.on() && !copy_off_; }
  // At a syscall's entry: the kernel state the call may change dropped,
  // and for copies_held the signal mask.
  void note_entry_for_copies(RecordTask& rt);
  // As `rt` goes to wait inside its call (its entry an event): why a copy
  // could not hold it there (RecordTask::held_call_seen, held_refusal).
  void note_held_call(RecordTask& rt);
  // As `rt` goes to run user code: its own kernel state, read when it is
  // not known (calls inside the thread).
  void read_own_kernel_state(RecordTask& rt);
  // RecordTask::known_actions and known_layout: marks what `call` may
  // change, at its entry and again at its exit (`at_exit`: its result is
  // set), and what the kernel changes as signal `delivered` is delivered;
  // reads what is missing or stale.
  void note_known_changes(RecordTask& rt, const SyscallArgs& call, bool at_exit);
  void note_known_delivery(RecordTask& rt, int delivered);
  void read_process_known(RecordTask& rt);
  // The state `rt`, held inside its call, has at the call's entry, or why
  // none can be given.
  Result<HeldAtEntry> held_state(const RecordTask& rt);
  // The threads held inside calls (of process `tgid`, or of all), each
  // asleep (S) with its count of context switches so far; an error names
  // one that is not asleep.
  using AsleepMarks = std::vector<std::pair<pid_t, uint64_t>>;
  Result<AsleepMarks> mark_held_asleep(std::optional<RecordedTid> tgid);
  // The first of `marks` that is no longer asleep or has run since (0: none).
  static pid_t first_woken(const AsleepMarks& marks);
  // A live thread of process `tgid` not held inside a call (the one calls
  // inside the process go through), or nullptr.
  RecordTask* unheld_thread_of(RecordedTid tgid);
  // Names a mapping of `t`'s process as replay maps it (the trace's copy
  // of its file or code image); `reason` says why it cannot.
  MappingName replay_mapping_name(Task& t, const MapEntry& e, std::string& reason);
  // A file replay emulates, by either identity (emulated_).
  bool emulated_mapping(const MapEntry& e) const;
  // Why the copying writer cannot save mapping `e` (shared memory, an
  // emulated file, memory a fork does not copy...); empty: it can.
  std::string copy_mapping_problem(const MapEntry& e) const;
  // copy_mapping_problem over every process's mappings, read from smaps
  // alone (no calls inside the threads); empty: nothing.
  std::string copy_mapping_refusal();
  // Tells the hook the point waiting is missed.
  Status copy_point_missed();
  // The copying writer's job and its copies of the processes
  // (RecordPoint::copy_of). Copies are killed once the job has ended. A
  // copy of a process whose parent is rr (the program's first process) is
  // made a child of rr's (CLONE_PARENT), which reaps it: the program never
  // sees it. Any other is a child of its process, with no exit signal,
  // seen only by a wait for clone children (reap_copies_before_wait);
  // killed, it is a zombie of that process, which the recorder reaps by a
  // wait4 inside the process at the next point. Its times and peak
  // resident size then count among the process's children's
  // (getrusage(RUSAGE_CHILDREN), times()).
  struct ProcessCopy {
    std::unique_ptr<Task> task;
    RecordedTid of;     // the process it is a copy of
    bool ours = false;  // a child of rr's, reaped by its wait
  };
  std::vector<ProcessCopy> copies_;
  std::vector<ProcessCopy> copies_to_reap_;  // killed; zombies of their processes
  // Whether process `tgid`'s parent is rr: its copies are made rr's.
  static bool parent_is_rr(RecordedTid tgid);
  std::thread copy_thread_;
  std::atomic<bool> copy_job_done_{false};
  std::atomic<bool> copies_cancelled_{false};  // the copies are being killed under the job
  Status copy_job_status_;
  uint64_t copy_job_point_ = 0, copy_job_event_ = 0;  // what the job writes
  Result<Task*> copy_process(Task& leader);
  // Waits for the job (if `wait`; else only if it has ended), then kills
  // the copies; with `reap` (every thread stands between events), reaps
  // their zombies inside their processes.
  void end_copy_job(bool wait, bool reap);
  // A copy is a child of its process that only a wait for clone children
  // (__WALL, __WCLONE) sees: one at the entry of `rt`'s call would make
  // such a wait block, or return the copy's pid, where the program's own
  // children alone would not. Before that call runs, its process's copies
  // are killed and reaped through `rt`, and the call is made again from
  // its instruction (true: `rt` was resumed to enter it once more).
  Result<bool> reap_copies_before_wait(RecordTask& rt);
  // The live copy whose pid is `pid`, or null.
  Task* copy_task(pid_t pid) const;
  CopyPointHook on_copy_point_;
  std::function<bool()> share_missed_points_;
  bool copy_off_ = false;  // a copy failed for another reason than the event: no more
  bool recording_ended_ = false;  // run() has returned: a point missed now is the last
  std::string copy_refused_;  // why the point waiting was not copied at the last frame
  bool copy_task_died_ = false;  // a thread ended under the copying writer's calls
  // RR_RECORD_STATE=N:DIR (record/record_state.cc): the recorder's state
  // in `rr state`'s form every N events, for tests.
  struct StateOption {
    uint64_t every = 0;  // 0: off
    std::string dir;
  };
  static Result<StateOption> state_option();
  void use_state_option(const StateOption& o);
  void note_frame_for_state(trace::Frame::Reader f);
  std::string state_now(uint64_t event, std::string& reason);
  // arm_counter, keeping RecordTask::counter_delta.
  bool arm_counter_tracked(RecordTask& rt, uint64_t ticks);
  std::unique_ptr<ReplayCounterModel> counter_model_;
  std::string state_dir_;
  uint64_t state_every_ = 0;
  // Tells the hook of point `event` (its next frame is written), after
  // flushing the events and writing the shared-files list if it grew.
  Status tell_point(uint64_t event);
  // A point held inside the run of frames that closed the trace: the event
  // before that run stands for it.
  Status tell_point_before_exit();
  int bound_cpu_ = 0;                          // the CPU the tracees run on
  std::set<std::string> shared_files_;         // trace files replay emulates (the shared-files list)
  // Files replay emulates, by (device, inode) as stat of a descriptor shows
  // them: the trace copy that names the copy replay changes, the file's size
  // after the last change, and (device, inode) as /proc/PID/maps shows the
  // file (another device on btrfs subvolumes and overlayfs); plain_too: a
  // mapping of a plain copy of it lived when it became emulated, and a
  // change while the file is mapped is refused.
  struct EmulatedFile {
    std::string copy;
    uint64_t size = 0;
    std::pair<uint64_t, uint64_t> maps_id;
    bool plain_too = false;
  };
  std::map<std::pair<uint64_t, uint64_t>, EmulatedFile> emulated_;
  // Files mapped from a plain copy (from a read-only descriptor), to
  // their maps identity: a change to one while it is
  // mapped is refused.
  std::map<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> plain_mapped_;
  // Moves on whenever emulated_ or plain_mapped_ gain a file: the syscall
  // buffer's fd gates are rewritten (writes to a mapped file stay traced).
  uint64_t mapped_files_epoch_ = 1;
  OutsideSignals outside_;
  std::vector<OutsideSignals::Arrival> forwards_;  // sent to rr by others: passed on unless the tracees got them too
  std::map<int, std::chrono::steady_clock::time_point> last_stop_with_;  // when a tracee last stopped with each signal
  std::optional<std::chrono::steady_clock::time_point> last_interrupt_;
  bool stopping_ = false;                           // a second interrupt: the tracees are being killed
  // With stopping_: the process of the thread whose syscall was in the
  // kernel without waiting is killed once that call's exit is recorded, or
  // at this time (see kill_tracees).
  std::optional<std::chrono::steady_clock::time_point> kill_deferred_until_;
  void kill_tracees();
  void kill_deferred_tracees();
  std::set<RecordedTid> killed_;  // live processes the recorder killed (kill_process_of)
  // Per file (device, inode) mapped executable: its size and mtime when it
  // was read, and the file offsets of its rdrand and rdseed bytes that
  // patch_random_sites turns into traps (sorted; empty for most files).
  struct RandomSites {
    int64_t size = 0, mtime_ns = 0;
    std::vector<uint64_t> offsets;
  };
  std::map<std::pair<uint64_t, uint64_t>, RandomSites> random_sites_;
  // The code images in the store (core/code_image.h), and for each image
  // of code made or found, by name, the file (device, inode) it is an
  // image of: its rdrand sites are the original's, at the same offsets.
  CodeImageStore images_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> image_origin_;
  void kill_process_of(const RecordTask& t);
  // Its process's exit_group is recorded and nothing killed it.
  bool ending_by_itself(const RecordTask& t) const;
};

// The siginfo of a ptrace stop that is no signal's delivery (a syscall or
// event stop) as its tracer's PTRACE_GETSIGINFO shows it: SIGTRAP, with
// `code` the stop's signal byte and event.
siginfo_t siginfo_for_trap(int code, const RecordTask& tracee);


// Finds `program` the way execvp would; error if absent or not executable.
Result<std::string> find_program(const std::string& program);

}  // namespace rr
