// The recorder's own state at an event in `rr state`'s form (replay/state.h),
// for tests: with RR_RECORD_STATE=N:DIR the recorder writes DIR/<event>
// every N events, once the event's frame is written, and a test compares it
// with what `rr state` prints for the same event of the finished trace. It is
// the state a writer of checkpoints that copies the recorded processes
// (instead of replaying them) would have to save: the same memory, named by
// the trace's files, the same registers, fd table and counters (derived from
// the frames by ReplayCounterModel). Where the recorder cannot see that
// state (a thread inside the kernel, an emulated file, the program's end)
// it writes DIR/<event>.skip with the reason instead.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <linux/kcmp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <pthread.h>
#include <sys/wait.h>
#include <cstring>
#include <map>
#include <csignal>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/progress_counter.h"
#include "core/remote_syscalls.h"
#include "core/tracee_abi.h"
#include "core/rr_page.h"
#include "core/signal_delivery.h"
#include "preload/syscall_buffer.h"
#include "record/record_session.h"
#include "trace/counter_model.h"
#include "core/state_view.h"
#include "util/io.h"
#include "util/threads.h"

namespace rr {

Result<RecordSession::StateOption> RecordSession::state_option() {
  StateOption o;
  const char* opt = getenv("RR_RECORD_STATE");
  if (!opt || !*opt) return o;
  char* end = nullptr;
  errno = 0;
  unsigned long long every = opt[0] >= '0' && opt[0] <= '9' ? strtoull(opt, &end, 10) : 0;
  if (every == 0 || errno == ERANGE || every > (1ull << 40) || !end || *end != ':' || !end[1])
    return make_error(std::string("RR_RECORD_STATE must be N:DIR (every N events, into the folder DIR), not ") + opt);
  struct stat st;
  if (stat(end + 1, &st) != 0 || !S_ISDIR(st.st_mode) || access(end + 1, W_OK) != 0)
    return make_error(std::string("RR_RECORD_STATE: ") + (end + 1) + " is not a folder rr can write");
  o.every = every;
  o.dir = end + 1;
  // Not the program's: a recording inside it would write there too.
  unsetenv("RR_RECORD_STATE");
  return o;
}

void RecordSession::use_state_option(const StateOption& o) {
  if (o.every == 0) return;
  state_every_ = o.every;
  state_dir_ = o.dir;
  counter_model_ = std::make_unique<ReplayCounterModel>();
}

void RecordSession::note_frame_for_state(trace::Frame::Reader f) {
  if (!counter_model_) return;
  counter_model_->apply(f);
  if (state_every_ == 0 || f.getEvent() % state_every_ != 0) return;
  std::string reason;
  std::string text;
  if (f.which() == trace::Frame::SIGNAL)
    reason = "a signal's delivery: its event is written once the handler is entered, where replay stands at the delivery stop";
  else
    text = state_now(f.getEvent(), reason);
  std::string path = state_dir_ + "/" + std::to_string(f.getEvent()) + (reason.empty() ? "" : ".skip");
  std::string body = reason.empty() ? text : reason + "\n";
  Status written = write_file_atomic(path, body.data(), body.size());
  if (!written.ok()) fatal("RR_RECORD_STATE: " + written.error().message);
}

bool RecordSession::arm_counter_tracked(RecordTask& rt, uint64_t ticks) {
  if (counter_model_) {
    if (std::optional<uint64_t> before = counter_remaining(*rt.task)) *rt.counter_delta += *before - ticks;
  }
  return arm_counter(*rt.task, ticks);
}

namespace {

// Replay's values of rr's own bytes where the two roads differ by design: the
// rr page's buffered entry (no syscall in replay) and road flag, the
// buffer's `used` and `available` (0 between events in replay), and the progress
// counter's slot (replay arms it only for a trap's count).
MemoryOverlay replay_view_of_rr_pages(Task& t, uint64_t counter_delta) {
  MemoryOverlay overlay;
  rr_buffer_header h;
  if (t.read_mem(RemotePtr<>(RR_BUFFER_ADDR), &h, sizeof h)) {
    overlay[RR_BUFFERED_ENTRY].assign(reinterpret_cast<const char*>(kRrBufferedEntryReplay), sizeof kRrBufferedEntryReplay);
    overlay[RR_ROAD_FLAG_ADDR].assign(1, (char)RR_ROAD_REPLAY);
    // Replay's `used` and `available` are 0 between events: records another
    // process made since its last event are fed to replay at its next one.
    overlay[RR_BUFFER_ADDR + offsetof(rr_buffer_header, used)].assign(2 * sizeof(uint32_t), '\0');
  }
  if (std::optional<uint64_t> v = counter_remaining(t)) {
    uint64_t replay_value = *v + counter_delta;
    overlay[kCounterSlots.remaining].assign(reinterpret_cast<const char*>(&replay_value), sizeof replay_value);
  }
  return overlay;
}

}  // namespace

namespace {

// Why a copy cannot hold a thread inside call `entry` (empty: it can): the
// copy is made while the call sleeps, and must hold none of its outputs,
// which replay writes at the call's exit. Only calls that write their
// outputs as they return are taken (a read of a terminal or a socket may
// write what has come and sleep again for more; a PI futex, sendmmsg and a
// recvmmsg write before they sleep or between messages).
std::string held_call_refusal(const Registers& entry, pid_t tid) {
  int64_t nr = entry.syscallno();
  switch (nr) {
    case SYS_read:
    case SYS_readv:
    case SYS_recvfrom:
    case SYS_recvmsg: {
      struct stat st;
      int fd = (int)entry.arg(0);
      std::string path = "/proc/" + std::to_string(tid) + "/fd/" + std::to_string(fd);
      if (stat(path.c_str(), &st) != 0) return "a read of a descriptor rr cannot see";
      if (S_ISFIFO(st.st_mode) && (nr == SYS_read || nr == SYS_readv)) return {};
      if (!S_ISSOCK(st.st_mode)) return "a read of other than a pipe or a socket";
      uint64_t flags = nr == SYS_recvfrom ? entry.arg(3) : nr == SYS_recvmsg ? entry.arg(2) : 0;
      if (flags & MSG_WAITALL) return "a read that waits for all it asked (MSG_WAITALL)";
      // A stream socket's read returns once SO_RCVLOWAT bytes have come,
      // writing those that came before it sleeps again.
      // PIDFD_THREAD (O_EXCL, Linux 6.9): a thread's own, where a thread
      // that leads no process has no pidfd of the plain kind.
      int pidfd = (int)syscall(SYS_pidfd_open, tid, O_EXCL);
      if (pidfd < 0) pidfd = (int)syscall(SYS_pidfd_open, tid, 0);
      if (pidfd < 0) return "a read of a socket rr cannot look at";
      int sock = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
      close(pidfd);
      if (sock < 0) return "a read of a socket rr cannot look at";
      int type = 0, lowat = 0;
      socklen_t len = sizeof type, len2 = sizeof lowat;
      bool known = getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
                   getsockopt(sock, SOL_SOCKET, SO_RCVLOWAT, &lowat, &len2) == 0;
      close(sock);
      if (!known) return "a read of a socket rr cannot look at";
      if (type == SOCK_STREAM && lowat > 1) return "a read of a stream socket with SO_RCVLOWAT above 1";
      return {};
    }
    case SYS_futex: {
      int op = (int)entry.arg(1) & FUTEX_CMD_MASK;
      if (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) return {};
      return "a futex operation other than a wait";
    }
    case SYS_fcntl:
      if (entry.arg(1) == F_SETLKW || entry.arg(1) == F_OFD_SETLKW) return {};
      return "fcntl";
    case SYS_write:
    case SYS_writev:
    case SYS_pwrite64:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_connect:
    case SYS_accept:
    case SYS_accept4:
    case SYS_poll:
    case SYS_ppoll:
    case SYS_select:
    case SYS_pselect6:
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
    case SYS_nanosleep:
    case SYS_clock_nanosleep:
    case SYS_wait4:
    case SYS_waitid:
    case SYS_pause:
    case SYS_rt_sigsuspend:
    case SYS_rt_sigtimedwait:
    case SYS_msgsnd:
    case SYS_msgrcv:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_flock:
    case SYS_open:
    case SYS_openat:
      return {};
    default:
      return syscall_name(nr) + ", which may write outputs before it returns";
  }
}

}  // namespace

bool holds_call_sigmask(const Registers& regs) {
  switch (regs.syscallno()) {
    case SYS_ppoll:
    case SYS_pselect6:
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2:
    case SYS_io_uring_enter:
    case SYS_rt_sigsuspend:
      break;
    case SYS_io_pgetevents:
      // Keeps it whenever a signal is pending, events or not.
      return true;
    default:
      return false;
  }
  int64_t ret = regs.syscall_result();
  // EINTR, and ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK.
  return ret == -EINTR || (ret <= -512 && ret >= -516);
}

bool holds_call_sigmask(Task& t) {
  std::optional<Registers> regs = t.try_regs();
  return regs && holds_call_sigmask(*regs);
}

namespace {

// The calls that change what RecordTask::own_kernel_state keeps.
bool changes_own_kernel_state(int64_t nr) {
  return nr == SYS_sigaltstack || nr == SYS_rt_sigreturn || nr == SYS_set_tid_address || nr == SYS_set_robust_list ||
         nr == SYS_execve || nr == SYS_execveat;
}

}  // namespace

namespace {

// A thread asleep in the kernel, interruptibly (S): its context switches
// so far (voluntary and not); nullopt when it is not (running, stopped,
// gone, or in an uninterruptible sleep, D).
std::optional<uint64_t> asleep_switches(pid_t tid) {
  auto status = read_file("/proc/" + std::to_string(tid) + "/status");
  if (!status.ok()) return std::nullopt;
  const std::string& text = status.value();
  size_t state = text.find("\nState:\t");
  if (state == std::string::npos || state + 8 >= text.size()) return std::nullopt;
  // Not D: a call copying its outputs out sleeps so on a page fault.
  if (text[state + 8] != 'S') return std::nullopt;
  uint64_t total = 0;
  for (const char* key : {"\nvoluntary_ctxt_switches:\t", "\nnonvoluntary_ctxt_switches:\t"}) {
    size_t at = text.find(key);
    if (at == std::string::npos) return std::nullopt;
    total += strtoull(text.c_str() + at + strlen(key), nullptr, 10);
  }
  return total;
}

// The signal actions the recorder kept (`actions`, as read_sigactions
// gives them) checked against what /proc says of each signal now (caught,
// ignored or neither): the kernel resets a handler to the default, keeping
// the flags, mask and restorer, where the recorder may not see it (a
// forced SIGTRAP or SIGSEGV where the signal is blocked or ignored, a
// delivery with SA_RESETHAND); such a reset is applied. Any other
// difference is told (empty: none).
std::string reconcile_actions(std::vector<std::pair<int, std::string>>& actions, uint64_t caught, uint64_t ignored) {
  std::map<int, std::string> by_sig(actions.begin(), actions.end());
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    uint64_t bit = 1ull << (sig - 1);
    auto it = by_sig.find(sig);
    TraceeSigaction act = {};
    if (it != by_sig.end()) {
      if (it->second.size() != sizeof act) return "a signal action of the wrong size";
      memcpy(&act, it->second.data(), sizeof act);
    }
    bool kept_ignored = act.handler == (uint64_t)SIG_IGN, kept_caught = act.handler != 0 && !kept_ignored;
    bool now_ignored = ignored & bit, now_caught = caught & bit;
    if (kept_ignored == now_ignored && kept_caught == now_caught) continue;
    if (now_ignored || now_caught) return "the action of signal " + std::to_string(sig) + " changed unseen";
    act.handler = 0;  // reset by the kernel
    if (act.flags == 0 && act.restorer == 0 && act.mask == 0) by_sig.erase(it);
    else it->second.assign(reinterpret_cast<const char*>(&act), sizeof act);
  }
  actions.assign(by_sig.begin(), by_sig.end());
  return {};
}

// Whether the call at `entry` is a wait that sees clone children (those
// whose exit signal is not SIGCHLD), as the copies are.
bool waits_for_clone_children(const Registers& entry) {
  int64_t nr = entry.syscallno();
  if (nr != SYS_wait4 && nr != SYS_waitid) return false;
  uint64_t options = nr == SYS_wait4 ? entry.arg(2) : entry.arg(3);
  return (options & (__WALL | __WCLONE)) != 0;
}

// Why `rt`, held inside its call, cannot be copied there (empty: it can).
std::string why_not_held(const RecordTask& rt) {
  return rt.held_call_seen ? rt.held_refusal : "not seen going to wait in it";
}

}  // namespace

Result<RecordSession::AsleepMarks> RecordSession::mark_held_asleep(std::optional<RecordedTid> tgid) {
  AsleepMarks marks;
  for (const auto& [tid, rt] : tasks()) {
    if ((tgid && rt->tgid != *tgid) || !held_at_entry(*rt)) continue;
    std::optional<uint64_t> switches = asleep_switches(rt->tid());
    if (!switches)
      return make_error(ErrorKind::Unsupported, "task " + std::to_string(rt->tid()) + " left its syscall's sleep");
    marks.emplace_back(rt->tid(), *switches);
  }
  return marks;
}

pid_t RecordSession::first_woken(const AsleepMarks& marks) {
  for (const auto& [tid, before] : marks)
    if (asleep_switches(tid) != before) return tid;
  return 0;
}

RecordTask* RecordSession::unheld_thread_of(RecordedTid tgid) {
  for (const auto& [tid, rt] : tasks())
    if (rt->tgid == tgid && rt->task->alive() && !rt->exit_recorded && !held_at_entry(*rt)) return rt.get();
  return nullptr;
}

void RecordSession::note_entry_for_copies(RecordTask& rt) {
  int64_t nr = rt.entry_regs.syscallno();
  if (changes_own_kernel_state(nr)) {
    rt.own_kernel_state.reset();
    rt.own_kernel_state_unread = false;
  }
  rt.entry_sigmask.reset();
  rt.held_call_seen = false;
  if (!copies_held()) return;
  note_known_changes(rt, syscall_args(nr, rt.entry_regs), false);
  uint64_t mask = 0;
  if (ptrace((__ptrace_request)PTRACE_GETSIGMASK, rt.tid(), (void*)sizeof mask, &mask) == 0) rt.entry_sigmask = mask;
}

void RecordSession::note_known_changes(RecordTask& rt, const SyscallArgs& call, bool at_exit) {
  RecordTask::ActionsKnown& a = *rt.known_actions;
  RecordTask::LayoutKnown& l = *rt.known_layout;
  switch (call.nr) {
    case SYS_rt_sigaction: {
      int sig = (int)call.arg[0];
      if (call.arg[1] == 0 || sig < 1 || sig > 64) return;
      a.stale |= 1ull << (sig - 1);
      a.unread = false;
      return;
    }
    case SYS_brk:
      // Its result is the break (also when it refuses to move it).
      if (!at_exit) {
        l.brk_stale = true;
      } else {
        if (l.layout) l.layout->brk = (uint64_t)call.ret;
        l.brk_stale = false;
      }
      break;
    case SYS_prctl:
      if (call.arg[0] != PR_SET_MM) return;
      l.brk_stale = true;
      break;
    case SYS_modify_ldt:
      if (call.arg[0] == 0 || call.arg[0] == 2) return;  // reads
      l.layout.reset();
      break;
    case SYS_pkey_alloc:
    case SYS_pkey_free:
      l.layout.reset();
      break;
    case SYS_mmap:
    case SYS_mprotect:
    case SYS_pkey_mprotect:
      // Memory made execute-only takes a protection key the kernel
      // allocates for itself.
      if ((call.arg[2] & (PROT_READ | PROT_WRITE | PROT_EXEC)) != PROT_EXEC) return;
      l.layout.reset();
      break;
    default:
      return;
  }
  l.unread = false;
}

void RecordSession::note_known_delivery(RecordTask& rt, int delivered) {
  RecordTask::ActionsKnown& a = *rt.known_actions;
  if (!a.actions || delivered < 1 || delivered > 64) return;
  for (const auto& [sig, raw] : *a.actions) {
    if (sig != delivered || raw.size() != sizeof(TraceeSigaction)) continue;
    TraceeSigaction act;
    memcpy(&act, raw.data(), sizeof act);
    // Reset to the default as it is delivered.
    if (act.flags & SA_RESETHAND) {
      a.stale |= 1ull << (sig - 1);
      a.unread = false;
    }
  }
}

void RecordSession::read_process_known(RecordTask& rt) {
  Task& t = *rt.task;
  RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
  RecordTask::ActionsKnown a = *rt.known_actions;
  RecordTask::LayoutKnown l = *rt.known_layout;
  bool failed = false;
  try {
    if (!a.complete() && !a.unread) {
      std::optional<uint64_t> ignored = a.from_exec ? try_proc_sigset(t.tid(), "SigIgn") : std::nullopt;
      if (!a.actions && ignored) {
        a.actions.emplace();
        for (int sig = 1; sig <= 64; ++sig) {
          if (!(*ignored & (1ull << (sig - 1))) || (a.stale & (1ull << (sig - 1)))) continue;
          TraceeSigaction act = {};
          act.handler = (uint64_t)SIG_IGN;
          a.actions->emplace_back(sig, std::string(reinterpret_cast<const char*>(&act), sizeof act));
        }
      }
      if (!a.actions) {
        a.actions = read_sigactions(t, rs, ~0ull);
      } else if (a.stale) {
        std::vector<std::pair<int, std::string>> kept;
        for (auto& one : *a.actions)
          if (!(a.stale & (1ull << (one.first - 1)))) kept.push_back(std::move(one));
        for (auto& one : read_sigactions(t, rs, a.stale)) kept.push_back(std::move(one));
        std::sort(kept.begin(), kept.end());
        a.actions = std::move(kept);
      }
      a.stale = 0;
      a.from_exec = false;
    }
    if (!l.complete() && !l.unread) {
      if (!l.layout) l.layout = probe_layout_by_calls(t, rs);
      else l.layout->brk = (uint64_t)rs.syscall(SYS_brk, {0});
      l.brk_stale = false;
    }
  } catch (const FatalError&) {
    failed = true;
  }
  if (!after_calls_inside(rt, rs) || failed) {
    if (!rt.known_actions->complete()) rt.known_actions->unread = true;
    if (!rt.known_layout->complete()) rt.known_layout->unread = true;
    return;
  }
  *rt.known_actions = std::move(a);
  *rt.known_layout = std::move(l);
}

void RecordSession::note_held_call(RecordTask& rt) {
  // No other thread has run user code since the entry (one runs at a time):
  // its descriptor is still the call's.
  rt.held_call_seen = true;
  rt.held_refusal = copies_held() || state_every_ != 0 ? held_call_refusal(rt.entry_regs, rt.tid())
                                                        : std::string("neither copies nor states are written");
}

void RecordSession::read_own_kernel_state(RecordTask& rt) {
  Task& t = *rt.task;
  RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
  TaskKernelState k;
  bool read = false;
  if (std::optional<stack_t> ss = query_altstack(t, rs)) {
    k.altstack_sp = (uint64_t)ss->ss_sp;
    k.altstack_flags = ss->ss_flags;
    k.altstack_size = ss->ss_size;
    uint64_t v[2] = {};
    RemotePtr<> buf = rs.scratch(v, sizeof v, 128);
    if (rs.syscall(SYS_get_robust_list, {0, buf.as_int(), buf.as_int() + 8}) == 0 && t.read_mem(buf, v, sizeof v)) {
      k.robust_list_head = v[0];
      k.robust_list_len = v[1];
      if (rs.syscall(SYS_prctl, {PR_GET_TID_ADDRESS, buf.as_int(), 0, 0, 0}) == 0 && t.read_mem(buf, v, 8)) {
        k.tid_address = v[0];
        read = true;
      }
    }
  }
  if (after_calls_inside(rt, rs) && read) rt.own_kernel_state = k;
  else rt.own_kernel_state_unread = true;
}

Result<HeldAtEntry> RecordSession::held_state(const RecordTask& rt) {
  std::string inside = "task " + std::to_string(rt.tid()) + " is inside a syscall";
  if (std::string why = why_not_held(rt); !why.empty())
    return make_error(ErrorKind::Unsupported, inside + " (" + why + ")");
  if (!rt.entry_sigmask || !rt.own_kernel_state || rt.entry_xsave.empty())
    return make_error(ErrorKind::Unsupported, inside + " (its state at the entry is not known)");
  HeldAtEntry h{rt.entry_regs, rt.entry_xsave, *rt.own_kernel_state};
  h.kernel.sigmask = *rt.entry_sigmask;
  // SS_ONSTACK as sigaltstack answers it at the entry's stack pointer.
  const int32_t autodisarm = (int32_t)(1u << 31);  // SS_AUTODISARM (linux/signal.h)
  int32_t flags = h.kernel.altstack_flags & ~SS_ONSTACK;
  uint64_t sp = h.regs.sp().as_int(), base = h.kernel.altstack_sp;
  if (!(flags & SS_DISABLE) && !(flags & autodisarm) && h.kernel.altstack_size != 0 && sp > base &&
      sp - base <= h.kernel.altstack_size)
    flags |= SS_ONSTACK;
  h.kernel.altstack_flags = flags;
  return h;
}

bool RecordSession::held_at_entry(const RecordTask& rt) {
  return rt.state == RecordTask::State::InKernel && rt.in_syscall && rt.entry_recorded && !rt.entry_xsave.empty() &&
         !exiting_groups_.count(rt.tgid);
}

std::string RecordSession::copy_refusal(bool for_copy, std::map<const RecordTask*, HeldAtEntry>* held_states) {
  if (initial_ended_) return "the program's first process has ended";
  if (for_copy && has_zombies()) return "a process ended and is not reaped";
  std::map<RecordedTid, const FdTable*> tables;  // by process
  std::vector<pid_t> sharing;                     // a thread of each process that made or is a memory-sharing one
  for (const auto& [tid, rt] : tasks()) {
    if (!rt->task->alive() || rt->exit_recorded) {
      if (for_copy) return "task " + std::to_string(tid.value) + " is ending";
      continue;
    }
    if (held_at_entry(*rt)) {
      // Replay holds it at the call's entry, with the registers of that
      // entry; a tracer inside the recording may have changed them since.
      std::string inside = "task " + std::to_string(tid.value) + " is inside a syscall";
      if (rt->traced.by.value != 0) return inside + " (traced inside the recording)";
      if (std::string why = why_not_held(*rt); !why.empty()) return inside + " (" + why + ")";
      if (for_copy) {
        Result<HeldAtEntry> held = held_state(*rt);
        if (!held.ok()) return held.error().message;
        // A copy made through another of its threads would be seen by
        // this wait (reap_copies_before_wait keeps them from its entry).
        if (waits_for_clone_children(rt->entry_regs) && unheld_thread_of(rt->tgid) && !parent_is_rr(rt->tgid))
          return inside + " (" + syscall_name(rt->entry_regs.syscallno()) +
                 " for clone children, which would see the copy of its process)";
        // Calls inside the process are made by another of its threads, or
        // what they would tell is known.
        if (!unheld_thread_of(rt->tgid) && !rt->knows_process())
          return "every thread of process " + std::to_string(rt->tgid.value) +
                 " is inside a syscall, and its signal actions or layout changed since one last ran";
        if (held_states) held_states->emplace(rt.get(), std::move(held.value()));
      }
    } else {
      if (rt->state == RecordTask::State::InKernel || rt->in_syscall) {
        std::string inside = "task " + std::to_string(tid.value) + " ";
        std::string call = syscall_name(rt->entry_regs.syscallno());
        // A stop that ended or interrupted the call, not handled yet (its
        // outputs may be written).
        if (rt->state == RecordTask::State::Unprocessed) return inside + "has a stop not handled yet inside " + call;
        if (!rt->entry_recorded) return inside + "is inside a syscall (" + call + ", whose entry is no event)";
        return inside + "is inside a syscall (" + call + ")";
      }
      const char* waits = nullptr;
      switch (rt->state) {
        case RecordTask::State::Ready:
        case RecordTask::State::Running:
        case RecordTask::State::InKernel:
          break;
        case RecordTask::State::Unprocessed:
          // Its stop is not an event yet: it ran code replay has not run.
          if (for_copy) waits = "at a stop not handled yet";
          break;
        case RecordTask::State::GroupStopped: waits = "in a group stop"; break;
        case RecordTask::State::EchoWait: waits = "waiting for another thread's write to the terminal"; break;
        case RecordTask::State::TracerStopped: waits = "in a stop of its tracer's"; break;
        case RecordTask::State::TracerWaiting: waits = "waiting for its tracees"; break;
        case RecordTask::State::Spinning: waits = "parked at a spin site (in the recorder's pause)"; break;
      }
      if (waits) return "task " + std::to_string(tid.value) + " is " + waits;
      if (for_copy && holds_call_sigmask(*rt->task))
        return "task " + std::to_string(tid.value) + " is at the end of an interrupted " +
               syscall_name(rt->entry_regs.syscallno()) + ", whose signal mask the kernel keeps until a delivery";
    }
    if (!for_copy) continue;
    std::string task = "task " + std::to_string(tid.value) + " ";
    if (rt->spin_regs) return task + "is parked at a spin site (in the recorder's pause)";
    if (!find_task(rt->tgid)) return task + "has lost its thread group leader";
    auto [table, fresh] = tables.emplace(rt->tgid, rt->fds.get());
    if (fresh) {
      if (rt->shares_memory) sharing.push_back(rt->tid());
      // Children made in a PID namespace of the program's (unshare).
      std::string proc = "/proc/" + std::to_string(rt->tid()) + "/ns/";
      char own[64] = {}, children[64] = {};
      if (readlink((proc + "pid").c_str(), own, sizeof own - 1) > 0 &&
          readlink((proc + "pid_for_children").c_str(), children, sizeof children - 1) > 0 &&
          strcmp(own, children) != 0)
        return task + "makes its children in a PID namespace the program created";
    } else if (table->second != rt->fds.get()) {
      return task + "has an fd table of its own in a shared process";
    }
    if (rt->own_seccomp) return task + "has a seccomp filter of the program's";
    if (rt->tracer_debug) return task + "has debug registers its tracer set";
    if (!rt->ns_ids.empty()) return task + "is in a PID namespace of the program's";
    if (rt->traced.by.value != 0) return task + "is traced inside the recording";
  }
  for (size_t i = 0; i < sharing.size(); ++i)
    for (size_t j = i + 1; j < sharing.size(); ++j)
      if (syscall(SYS_kcmp, sharing[i], sharing[j], KCMP_VM, 0, 0) <= 0) return "two processes share their memory";
  return {};
}

bool RecordSession::emulated_mapping(const MapEntry& e) const {
  // /proc/PID/maps may show another device than stat (btrfs, overlayfs).
  std::pair<uint64_t, uint64_t> id{e.dev, e.inode};
  if (emulated_.count(id)) return true;
  for (const auto& [key, file] : emulated_)
    if (file.maps_id == id) return true;
  return false;
}

std::string RecordSession::copy_mapping_problem(const MapEntry& e) const {
  if (is_special_mapping(e)) return {};
  if (is_anon_shared(e)) return "the program has shared memory";
  if (e.name.rfind("/SYSV", 0) == 0) return "the program maps a System V segment, of which replay maps its own copy";
  if (e.inode != 0 && emulated_mapping(e)) return "the program maps " + e.name + ", a file replay emulates";
  // Written through by the program, and maybe by others: replay emulates
  // such a file once its descriptor is known to write (the shared-files
  // list), which the recording may learn only later.
  if (e.shared && (e.prot & PROT_WRITE)) return "the program maps " + e.name + " shared and writable";
  // A copy made by fork lacks what is not copied at a fork, and holds
  // zeros where memory is wiped at one.
  if (e.dontfork || e.wipeonfork) return "the program has memory a fork does not copy (MADV_DONTFORK, MADV_WIPEONFORK)";
  // A fork waits for the monitor of a userfaultfd that asked for fork
  // events (UFFD_FEATURE_EVENT_FORK), which may be a stopped thread.
  if (e.userfaultfd) return "the program has memory registered with a userfaultfd";
  return {};
}

std::string RecordSession::copy_mapping_refusal() {
  for (const auto& [tid, rt] : tasks()) {
    if (!rt->is_leader()) continue;
    std::string proc = "/proc/" + std::to_string(rt->tid());
    auto smaps = read_file(proc + "/smaps");
    if (!smaps.ok()) return "cannot read " + proc + "/smaps";
    for (const MapEntry& e : parse_smaps(smaps.value()))
      if (std::string problem = copy_mapping_problem(e); !problem.empty()) return problem;
  }
  return {};
}

MappingName RecordSession::replay_mapping_name(Task& t, const MapEntry& e, std::string& reason) {
  MappingName n{Backing::Anonymous, e.name, ""};
  if (is_anon_shared(e)) {
    n.name = kAnonSharedMaps;
    n.backing = Backing::Special;
  } else if (is_special_mapping(e)) {
    n.backing = Backing::Special;
  } else if (std::optional<std::string> image = images_.image_named(e.name)) {
    n.backing = Backing::File;
    n.name = n.file = "images/" + *image;
  } else if (e.name.rfind("/SYSV", 0) == 0) {
    if (reason.empty()) reason = "the program maps a System V segment, of which replay maps its own copy";
  } else if (e.inode != 0 && !e.name.empty() && e.name[0] == '/' && !(e.name.rfind("/dev/zero", 0) == 0 && !e.shared)) {
    if (emulated_mapping(e)) {
      if (reason.empty()) reason = "the program maps " + e.name + ", a file replay emulates";
      return n;
    }
    Result<std::string> stored = files_.store(map_file_path("/proc/" + std::to_string(t.tid()), e), e.name);
    if (!stored.ok()) {
      if (reason.empty()) reason = "cannot name " + e.name + " in the trace: " + stored.error().message;
      return n;
    }
    n.backing = Backing::File;
    n.name = n.file = stored.value();
    n.as_private = true;  // replay maps a copy it does not emulate privately
  } else if (e.inode != 0 && !(e.name.rfind("/dev/zero", 0) == 0 && !e.shared)) {
    n.backing = Backing::Special;
  }
  return n;
}

std::string RecordSession::state_now(uint64_t event, std::string& reason) {
  StateView v;
  v.event = event;
  v.counters = counter_model_->counters();
  reason = copy_refusal(false);
  if (!reason.empty()) return {};
  // Threads held inside calls: asleep from before their memory is read
  // to after it, without running (as for a copy, copy_process).
  Result<AsleepMarks> asleep = mark_held_asleep(std::nullopt);
  if (!asleep.ok()) {
    reason = asleep.error().message;
    return {};
  }
  std::string trace_dir = writer_->dir();
  for (const auto& [tid, rt] : tasks()) {
    if (!rt->task->alive() || rt->exit_recorded) continue;
    auto [it, fresh] = v.procs.try_emplace(rt->tgid.value, StateProcess{rt->tgid.value, {}, {}, rt->fds.get()});
    if (fresh) {
      Task& t = *rt->task;
      MappingNamer namer = [&](const MapEntry& e) { return replay_mapping_name(t, e, reason); };
      MemoryOverlay overlay = replay_view_of_rr_pages(t, *rt->counter_delta);
      it->second.maps = mapping_states(t, trace_dir, namer, &overlay);
      if (!reason.empty()) return {};
    }
    // A thread parked at a spin site waits in a pause() of the recorder's;
    // replay has it at the site, with the registers put back at its next stop.
    if (held_at_entry(*rt)) {
      // Inside a call whose entry is an event: replay holds it at that entry.
      it->second.tasks.push_back({tid.value, rt->entry_regs, fpu_hash(rt->entry_xsave), nullptr});
      continue;
    }
    Registers regs = rt->spin_regs ? *rt->spin_regs : rt->task->regs();
    it->second.tasks.push_back({tid.value, regs, fpu_hash(*rt->task), nullptr});
  }
  if (pid_t woke = first_woken(asleep.value())) {
    reason = "task " + std::to_string(woke) + " ran in its syscall while its state was read";
    return {};
  }
  return format_state(v, false);
}

// --checkpoint-every with a copying writer: a point waits for the first
// frame after which the recorder's processes stand where replay has them
// (copy_refusal); the events stream is flushed there, so that the next
// frame starts a block a restore can seek to. A point still waiting when
// the next one is due, or when the recording ends, is missed.
Status RecordSession::note_copy_point(trace::Frame::Reader f) {
  if (!on_copy_point_ || !checkpoint_every_.on()) return {};
  // A job that has ended lets its copies go (their memory is the
  // program's as it was, which its writes since have made copies of).
  end_copy_job(false, false);
  uint64_t written = f.getEvent();
  if (point_due(written)) {
    if (point_pending_) RR_TRY(copy_point_missed());
    point_pending_ = written;
  }
  if (!point_pending_ || copy_off_) return {};
  std::map<const RecordTask*, HeldAtEntry> held;  // the threads held inside calls, as saved
  // A signal's frame is written once its handler is entered, where replay
  // stands at the delivery; a frame that ends a task leaves it half gone.
  if (f.which() == trace::Frame::SIGNAL)
    copy_refused_ = "its frame is a signal's delivery";
  else if (exit_run_start_ != 0)
    copy_refused_ = "a task is ending";
  else
    copy_refused_ = copy_refusal(true, &held);
  // What the writer would refuse in the mappings, found without calls
  // inside the threads.
  if (copy_refused_.empty()) copy_refused_ = copy_mapping_refusal();
  if (!copy_refused_.empty()) return {};
  // The job before this one has to end first (its copies read, its file
  // the base of this one); every thread stands between events, so the
  // zombies of the copies can be reaped inside their processes.
  end_copy_job(true, true);
  if (copy_off_) return {};
  RecordPoint point;
  point.point = *point_pending_;
  point.event = written;
  point.trace_dir = writer_->dir();
  point.uuid = uuid_;
  RR_TRY(writer_->flush());
  point.next_frame = writer_->next_frame_position();
  point.counters = counter_model_->counters();
  point.initial_tid = initial_tgid_;
  point.shared_files = shared_files_.size();
  // Processes whose every thread is held: no call can be made in them.
  // What calls would tell is known (copy_refusal), and their pages are read
  // at once; their threads must sleep from here until that is done.
  AsleepMarks asleep_marks;
  for (const auto& [tid, rt] : tasks()) {
    if (!held_at_entry(*rt) || point.asleep.count(rt->tgid) || unheld_thread_of(rt->tgid)) continue;
    // Known when copy_refusal looked; a thread that ended since (the
    // reaping above runs calls inside one) leaves its process here unknown.
    std::string inside = "every thread of process " + std::to_string(rt->tgid.value) + " is inside a syscall";
    if (!rt->knows_process()) {
      copy_refused_ = inside + ", and its signal actions or layout are not known";
      return {};
    }
    ProcessAsleep asleep{*rt->known_actions->actions, *rt->known_layout->layout};
    std::optional<uint64_t> caught = try_proc_sigset(rt->tid(), "SigCgt"), ignored = try_proc_sigset(rt->tid(), "SigIgn");
    std::string differ = caught && ignored ? reconcile_actions(asleep.actions, *caught, *ignored)
                                           : std::string("its signal actions cannot be read in /proc");
    if (!differ.empty()) {
      copy_refused_ = inside + ", and " + differ;
      return {};
    }
    point.asleep[rt->tgid] = std::move(asleep);
    Result<AsleepMarks> marks = mark_held_asleep(rt->tgid);
    if (!marks.ok()) {
      copy_refused_ = marks.error().message;
      return {};
    }
    asleep_marks.insert(asleep_marks.end(), marks->begin(), marks->end());
  }
  point.asleep_intact = [&asleep_marks]() -> Status {
    if (pid_t woke = first_woken(asleep_marks))
      return make_error(ErrorKind::Unsupported,
                        "task " + std::to_string(woke) + " ran in its syscall while its process was read");
    return {};
  };
  std::map<Task*, RecordTask*> by_task;
  for (const auto& [tid, rt] : tasks()) {
    point.threads.push_back({rt->task.get(), rt->tgid, rt->altstack_disabled, rt->fds.get(), std::nullopt});
    if (held_at_entry(*rt)) {
      auto h = held.find(rt.get());
      if (h == held.end()) {  // not held when copy_refusal looked
        copy_refused_ = "task " + std::to_string(rt->tid()) + " is inside a syscall";
        return {};
      }
      point.threads.back().held = std::move(h->second);
    }
    by_task[rt->task.get()] = rt.get();
  }
  point.name = [this](Task& t, const MapEntry& e, std::string& reason) { return replay_mapping_name(t, e, reason); };
  point.mapping_problem = [this](const MapEntry& e) { return copy_mapping_problem(e); };
  point.exe_in_trace = [this](Task& t, const std::string& path) {
    return files_.store("/proc/" + std::to_string(t.tid()) + "/exe", path);
  };
  point.overlay = [&by_task](Task& t) { return replay_view_of_rr_pages(t, *by_task.at(&t)->counter_delta); };
  point.calls_inside = [this, &by_task](Task& t, const std::function<void(RemoteSyscalls&)>& body) {
    RecordTask& rt = *by_task.at(&t);
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    // What came meanwhile goes back to the recorder as after any calls of
    // its own, but the thread is at no event to drop.
    try {
      body(rs);
    } catch (...) {
      hand_back_calls(rt, rs);
      throw;
    }
    hand_back_calls(rt, rs);
    if (rs.died()) {
      copy_task_died_ = true;
      throw FatalError("task " + std::to_string(rt.tid()) + " ended while it was copied");
    }
  };
  point.copy_of = [this](Task& leader) { return copy_process(leader); };
  point.interrupted = [this] { return copy_task_died_; };
  point.copies_intact = [this]() -> Status {
    if (copies_cancelled_) return make_error("the recording is ending");
    for (const ProcessCopy& c : copies_) {
      // In its tracing stop ('t') since it was made; a copy killed (by a
      // signal to its process group, say) reads as pages gone.
      auto stat = read_file("/proc/" + std::to_string(c.task->tid()) + "/stat");
      size_t close = stat.ok() ? stat->rfind(')') : std::string::npos;
      if (close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 't')
        return make_error(ErrorKind::Unsupported,
                          "the copy of process " + std::to_string(c.of.value) + " ended while it was read");
    }
    return {};
  };
  copy_task_died_ = false;
  Result<CopyJob> job = on_copy_point_(point);
  if (!job.ok()) {
    // Copies made before the failure go now.
    end_copy_job(true, true);
    // A thread that ended under the writer's calls: its end is the loop's
    // now, and the point waits.
    if (job.error().kind == ErrorKind::Unsupported || copy_task_died_) {
      copy_refused_ = job.error().message;
      return {};
    }
    point_pending_.reset();
    copy_off_ = true;
    return {};
  }
  point_pending_.reset();
  if (*job) {
    copy_job_done_ = false;
    copy_job_point_ = point.point;
    copy_job_event_ = point.event;
    copy_thread_ = thread_with_signals_blocked([this, run = std::move(*job)] {
      try {
        copy_job_status_ = run();
      } catch (const std::exception& e) {
        copy_job_status_ = make_error(std::string("writing the checkpoint failed: ") + e.what());
      } catch (...) {
        copy_job_status_ = make_error("writing the checkpoint failed");
      }
      copy_job_done_ = true;
    });
    if (!copy_thread_.joinable()) {
      copy_job_status_ = make_error("cannot start a thread to write the checkpoint");
      copy_job_done_ = true;
      end_copy_job(true, true);
    }
  } else {
    end_copy_job(true, true);
  }
  return {};
}

Result<Task*> RecordSession::copy_process(Task& leader) {
  RecordTask* rt = find_task(leader.recorded_tid());
  if (!rt) return make_error("no task " + std::to_string(leader.tid()) + " to copy");
  // Threads of the process held inside calls (copy_refusal took only calls
  // that write their outputs as they return): asleep from before the copy
  // to after it, without running, they wrote none into it.
  Result<AsleepMarks> held = mark_held_asleep(rt->tgid);
  if (!held.ok()) return held.take_error();
  bool ours = parent_is_rr(rt->tgid);
  RemoteSyscalls rs(leader, RemoteSyscalls::MayDie{});
  // A child of rr's where the process is one (CLONE_PARENT; it takes the
  // process's own exit signal), else of the process, with no exit signal,
  // so that only a wait for clone children (__WALL, __WCLONE) could see
  // it; traced by rr (PTRACE_O_TRACECLONE), so that it never runs.
  int64_t r = rs.syscall(SYS_clone, {ours ? (uint64_t)CLONE_PARENT : 0, 0, 0, 0, 0});
  pid_t child = rs.spawned();
  hand_back_calls(*rt, rs);
  pid_t woke = first_woken(held.value());
  if (child <= 0 && r > 0) child = (pid_t)r;
  if (child > 0) {
    int status = 0;
    pid_t w;
    do w = waitpid(child, &status, __WALL);
    while (w < 0 && errno == EINTR);
    auto copy = std::make_unique<Task>(child, RecordedTid{child});
    if (w == child) copy->note_status(WaitStatus(status));
    copies_.push_back({std::move(copy), rt->tgid, ours});
    // Its first stop, the SIGSTOP of a new tracee.
    if (w != child || !WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP || (status >> 16) != 0)
      return make_error(ErrorKind::Unsupported, "the copy of process " + std::to_string(rt->tgid.value) +
                                                    " did not stop as made (" + WaitStatus(status).describe() + ")");
    // Without the program's descriptors: a pipe's other end, a lock or a
    // socket held by the copy would keep the program waiting.
    RemoteSyscalls in_copy(*copies_.back().task, RemoteSyscalls::MayDie{});
    int64_t closed = in_copy.syscall(SYS_close_range, {0, ~0u, 0});
    if (closed != 0 || in_copy.died())
      return make_error(ErrorKind::Unsupported, "cannot close the descriptors of the copy of process " +
                                                    std::to_string(rt->tgid.value));
  }
  if (rs.died())
    return make_error(ErrorKind::Unsupported, "task " + std::to_string(rt->tid()) + " ended while it was copied");
  if (r < 0 || child <= 0)
    return make_error(ErrorKind::Unsupported, "cannot copy process " + std::to_string(rt->tgid.value) +
                                                  " (clone: " + strerror(r < 0 ? (int)-r : EINVAL) + ")");
  if (woke)
    return make_error(ErrorKind::Unsupported,
                      "task " + std::to_string(woke) + " ran in its syscall while its process was copied");
  return copies_.back().task.get();
}

bool RecordSession::parent_is_rr(RecordedTid tgid) { return parent_of(tgid.value) == getpid(); }

Task* RecordSession::copy_task(pid_t pid) const {
  // Only live ones: a reaped copy's pid may be a new task's.
  for (const ProcessCopy& c : copies_)
    if (c.task->tid() == pid) return c.task.get();
  return nullptr;
}

void RecordSession::end_copy_job(bool wait, bool reap) {
  if (copy_thread_.joinable()) {
    if (!wait && !copy_job_done_) return;
    copy_thread_.join();
    if (!copy_job_status_.ok()) {
      // Told on this thread: the point is missed, and an error other than
      // the event's (a copy killed) ends the copying.
      RecordPoint failed;
      failed.point = copy_job_point_;
      failed.event = copy_job_event_;
      failed.missed = failed.job_failed = true;
      failed.stop = copy_job_status_.error().kind != ErrorKind::Unsupported;
      failed.why = copy_job_status_.error().message;
      if (failed.stop) copy_off_ = true;
      // Not told to a replay beside the recording if the trace could not
      // be flushed (RecordPoint::shared stays false; the failure shows at
      // the next frame).
      Status shared = share_trace_so_far(failed);
      (void)shared;
      Result<CopyJob> told = on_copy_point_(failed);
      (void)told;
    }
    copy_job_status_ = {};
  }
  if (!copies_.empty()) {
    std::vector<Task*> leaders;
    for (ProcessCopy& c : copies_) leaders.push_back(c.task.get());
    kill_and_reap({}, leaders);
    // rr's own are reaped by its wait.
    for (ProcessCopy& c : copies_)
      if (!c.ours) copies_to_reap_.push_back(std::move(c));
    copies_.clear();
  }
  if (!reap) return;
  std::vector<ProcessCopy> later;
  for (ProcessCopy& c : copies_to_reap_) {
    // Through a thread in a stop: not one held inside a call. A process
    // whose threads all wait is left for a later point; one that ended
    // took the zombie with it (to init).
    RecordTask* in = unheld_thread_of(c.of);
    if (!in) {
      bool lives = false;
      for (const auto& [tid, rt] : tasks())
        lives = lives || (rt->tgid == c.of && rt->task->alive() && !rt->exit_recorded);
      if (lives) later.push_back(std::move(c));
      continue;
    }
    RemoteSyscalls rs(*in->task, RemoteSyscalls::MayDie{});
    rs.syscall(SYS_wait4, {(uint64_t)c.task->tid(), 0, __WALL | WNOHANG, 0});
    hand_back_calls(*in, rs);
  }
  copies_to_reap_ = std::move(later);
}

Result<bool> RecordSession::reap_copies_before_wait(RecordTask& rt) {
  Task& t = *rt.task;
  std::optional<Registers> entry = t.try_regs();
  // Not in a thread traced inside the recording: a signal held over the
  // calls would wait for the call's exit, which may never come. (A copy is
  // never made while a thread is traced; one made before its tracer
  // attached may still be unreaped then.)
  // Nor in one with a filter of the program's, which could refuse the calls.
  if (rt.traced.by.value || rt.own_seccomp || !entry || !waits_for_clone_children(*entry)) return false;
  auto of_this = [&rt](const ProcessCopy& c) { return c.of == rt.tgid && !c.ours; };
  if (std::any_of(copies_.begin(), copies_.end(), of_this)) end_copy_job(true, false);
  if (std::none_of(copies_to_reap_.begin(), copies_to_reap_.end(), of_this)) return false;
  // The restart of an interrupted call is checked here, at its entry: the
  // registers the thread comes back with are no longer the kernel's.
  RR_TRY(check_restart(rt, *entry, true));
  bool alive;
  {
    // At the entry stop: the first injected call skips the program's.
    // Each copy is tried once (a failure to reap it must not bring the
    // thread back here for ever).
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    std::erase_if(copies_to_reap_, [&](const ProcessCopy& c) {
      if (!of_this(c)) return false;
      int64_t r = rs.syscall(SYS_wait4, {(uint64_t)c.task->tid(), 0, __WALL | WNOHANG, 0});
      if (r != c.task->tid() && r != -ECHILD && !rs.died())
        RR_LOG("the copy %d of process %d was not reaped (%lld)", c.task->tid(), rt.tgid.value, (long long)r);
      return !rs.died();
    });
    alive = after_calls_inside(rt, rs);
  }
  if (!alive) {
    RR_TRY(end_after_calls_inside(rt));
    return true;
  }
  // Back at its syscall instruction (2 bytes, as the kernel takes an
  // interrupted call back to restart it) with the call's number, as just
  // before it entered: it enters it again. A signal that comes first is
  // one that came before the call.
  Registers again = *entry;
  again.set_ip(RemotePtr<>(entry->ip().as_int() - 2));
  again.set_syscall_result(entry->syscallno());
  again.set_syscallno(-1);
  if (!t.try_set_regs(again)) return true;  // killed: its end comes next
  RR_TRY(resume_running(rt));
  return true;
}

// A replay beside the recording may write the missed point's checkpoint
// (RecordCopier): it reads the trace as far as it is flushed, and the
// shared-files list as it stands, which it must know from its start. Not
// done when no such replay will be told (RecordOptions::share_missed_points):
// flushing cuts the stream into smaller blocks, for no reader.
Status RecordSession::share_trace_so_far(RecordPoint& missed) {
  missed.trace_dir = writer_->dir();
  missed.uuid = uuid_;
  missed.shared_files = shared_files_.size();
  if (recording_ended_ || !share_missed_points_ || !share_missed_points_()) return {};
  RR_TRY(writer_->flush());
  if (shared_files_.size() != shared_files_written_) {
    RR_TRY(write_shared_files());
    shared_files_written_ = shared_files_.size();
  }
  missed.shared = true;
  return {};
}

Status RecordSession::copy_point_missed() {
  if (!on_copy_point_ || !point_pending_) return {};
  RecordPoint missed;
  missed.point = *point_pending_;
  missed.missed = true;
  missed.recording_ended = recording_ended_;
  missed.trace_dir = writer_->dir();
  missed.why = copy_off_ ? "the copying stopped" : copy_refused_.empty() ? "the recording ended" : copy_refused_;
  point_pending_.reset();
  RR_TRY(share_trace_so_far(missed));
  Result<CopyJob> told = on_copy_point_(missed);
  if (!told.ok()) return told.take_error();
  return {};
}

}  // namespace rr
