#include "replay/replay_session.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/address_space.h"
#include "core/perf_counter.h"
#include "core/pid_namespace.h"
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "core/syscall_restart.h"
#include "core/tracee_setup.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr long kStubOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE |
                              PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXIT;

// Signals an instruction raises by itself; every other signal a replayed
// task sees must have been sent by the replay.
bool raised_by_instruction(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}


// Ends one thread (not its process) by running exit(0) in it, and reaps it.
void end_thread(Task& t) {
  Registers r = t.regs();
  r.set_ip(RemotePtr(kRrSyscallInsn));
  r.set_syscall_result(SYS_exit);
  r.set_syscallno(-1);
  r.set_arg(0, 0);
  t.set_regs(r);
  t.try_resume(ResumeHow::Cont);
  t.wait_until_ended();
}

std::string hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof b, "0x%llx", (unsigned long long)v);
  return b;
}

// The body of a replay tracee before the supervisor rebuilds it: map the rr
// page where recordings have it, then stop for the supervisor.
[[noreturn]] void stub_main(int cpu) {
  prepare_tracee_process(cpu);
  // A replayed crash must not write a core file where the recorded one did.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  // Drop per-thread registrations inherited from the supervisor: they point
  // into memory the rebuild unmaps, and the kernel would keep writing there.
  if (__rseq_size > 0) {
    void* area = static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset;
    if (syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0)
      syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
  }
  syscall(SYS_set_tid_address, nullptr);
  stack_t no_stack = {};
  no_stack.ss_flags = SS_DISABLE;
  sigaltstack(&no_stack, nullptr);
  void* p = mmap((void*)kRrPageAddr, kRrPageSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void*)kRrPageAddr) _exit(125);
  memcpy(p, kRrPageCode, sizeof(kRrPageCode));
  if (mprotect(p, kPageSize, PROT_READ | PROT_EXEC) != 0) _exit(125);
  syscall(SYS_close_range, 3, ~0u, 0);
  ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
  // Not raise(): after a raw clone3 the C library's idea of our tid is the
  // supervisor's.
  syscall(SYS_tkill, syscall(SYS_gettid), SIGSTOP);
  _exit(125);
}

}  // namespace

Result<std::unique_ptr<ReplaySession>> ReplaySession::open(const std::string& trace_dir) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(trace_dir));
  std::unique_ptr<ReplaySession> s(new ReplaySession(std::move(reader)));
  auto shared = read_file(s->reader_->dir() + "/shared-files");
  if (shared.ok()) {
    size_t pos = 0;
    const std::string& t = shared.value();
    while (pos < t.size()) {
      size_t nl = t.find('\n', pos);
      if (nl == std::string::npos) nl = t.size();
      if (nl > pos) s->shared_files_.insert(t.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  return s;
}

Result<std::optional<FrameData>> ReplaySession::take_next() {
  if (lookahead_) {
    std::optional<FrameData> f = std::move(lookahead_);
    lookahead_.reset();
    next_frame_pos_ = reader_->position();
    return f;
  }
  auto f = reader_->next();
  next_frame_pos_ = reader_->position();
  return f;
}

bool ReplaySession::can_checkpoint() const {
  if (tasks_.empty() || !zombies_.empty() || current_event_ < 1 || !emulated_files_.empty()) return false;
  std::map<pid_t, const FdTable*> tables;  // by process
  for (const auto& [tid, rt] : tasks_) {
    if (!rt->task->alive() || rt->exiting || rt->end_seen || rt->in_exec || rt->in_vfork || rt->vfork_parent ||
        rt->pending_sig != 0 || rt->queued_sig != 0 || rt->where == ReplayTask::Where::CloneDone)
      return false;
    if (!tasks_.count(rt->tgid)) return false;  // its leader has ended
    auto [it, fresh] = tables.emplace(rt->tgid, rt->fds.get());
    if (!fresh && it->second != rt->fds.get()) return false;
  }
  std::set<const FdTable*> distinct;
  for (const auto& [tgid, table] : tables)
    if (!distinct.insert(table).second) return false;
  if (tables.size() > 1) {
    // Memory shared between processes would come back as one copy each.
    for (const auto& [tgid, table] : tables)
      if (maps_shared_memory(*tasks_.at(tgid))) return false;
  }
  return true;
}

bool ReplaySession::maps_shared_memory(const ReplayTask& leader) const {
  std::string trace_prefix = reader_->dir() + "/";
  for (const MapEntry& e : read_maps(leader.task->tid()))
    if (e.shared && !is_special_mapping(e) && ((e.prot & PROT_WRITE) || e.name.rfind(trace_prefix, 0) != 0)) return true;
  return false;
}

Task* ReplaySession::task() {
  if (tasks_.size() != 1) return nullptr;
  return tasks_.begin()->second->task.get();
}

const FdTable& ReplaySession::fds() const {
  static const FdTable kEmpty;
  if (tasks_.empty()) return kEmpty;
  return *tasks_.begin()->second->fds;
}

void ReplaySession::forget_task(pid_t recorded_tid) {
  auto it = tasks_.find(recorded_tid);
  if (it == tasks_.end()) return;
  it->second->task->mark_dead();
  tasks_.erase(it);
}

const FrameData* ReplaySession::peek() {
  if (!lookahead_) {
    auto next = reader_->next();
    if (!next.ok() || !next.value()) return nullptr;
    lookahead_ = std::move(next.value());
  }
  return &*lookahead_;
}

int ReplaySession::emulated_file(const std::string& trace_file) {
  auto it = emulated_files_.find(trace_file);
  if (it != emulated_files_.end()) return it->second.get();
  ScopedFd mem(memfd_create("rr-shared-file", 0));
  if (!mem.is_open()) fatal_errno("memfd_create");
  ScopedFd src(::open((reader_->dir() + "/" + trace_file).c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.is_open()) fatal_errno("cannot open the trace copy " + trace_file);
  for (;;) {
    ssize_t n = sendfile(mem.get(), src.get(), nullptr, 1 << 30);
    if (n < 0) fatal_errno("cannot copy " + trace_file);
    if (n == 0) break;
  }
  int fd = mem.get();
  emulated_files_.emplace(trace_file, std::move(mem));
  return fd;
}

bool ReplaySession::replay_mask_swap(ReplayTask& rt, trace::SyscallEvent::Reader sc) {
  Task& t = *rt.task;
  Registers regs = t.regs();
  SyscallArgs call;
  call.nr = sc.getNumber();
  for (int i = 0; i < 6; ++i) call.arg[i] = regs.arg(i);
  TaskMemReader mem(t);
  RemotePtr mask_at;
  uint64_t size = 0;
  if (!installed_sigmask(call, mem, &mask_at, &size)) return false;
  uint64_t mask = mask_at.as_int();
  const FrameData* next = peek();
  if (!next || next->frame().which() != trace::Frame::SIGNAL || next->frame().getSignal().getSynchronous()) return false;
  if (next->frame().getTid() != rt.recorded_tid()) return false;
  int sig = next->frame().getSignal().getSigno();
  syscall(SYS_tkill, t.tid(), sig);
  rt.queued_sig = sig;
  Registers r = regs;
  r.set_syscallno(SYS_rt_sigsuspend);
  r.set_arg(0, mask);
  r.set_arg(1, size);
  t.set_regs(r);
  execute_in_place(rt);
  Registers after = regs;
  after.set_syscall_result(sc.getResult());
  t.set_regs(after);
  return true;
}

ReplaySession::ReplaySession(std::unique_ptr<TraceReader> reader)
    : reader_(std::move(reader)), ns_(PidNamespace::root()) {}

ReplaySession::~ReplaySession() { kill_processes(0); }

void ReplaySession::kill_processes(pid_t tgid) {
  auto chosen = [tgid](pid_t process) { return tgid == 0 || process == tgid; };
  auto zombie_chosen = [&](const std::unique_ptr<Task>& z) { return chosen(z->recorded_tid().value); };
  // Kill everything first, then reap threads before their leaders: a
  // leader's end is reported only after its threads'.
  for (auto& [tid, rt] : tasks_)
    if (chosen(rt->tgid)) rt->task->send_kill();
  for (auto& z : zombies_)
    if (zombie_chosen(z)) z->send_kill();
  for (auto& [tid, rt] : tasks_)
    if (chosen(rt->tgid) && rt->recorded_tid() != rt->tgid) rt->task->kill();
  for (auto& [tid, rt] : tasks_)
    if (chosen(rt->tgid)) rt->task->kill();
  for (auto& z : zombies_)
    if (zombie_chosen(z)) z->kill();
  std::erase_if(tasks_, [&](const auto& entry) { return chosen(entry.second->tgid); });
  std::erase_if(zombies_, zombie_chosen);
}

Result<std::unique_ptr<Task>> ReplaySession::spawn_process(RecordedTid recorded) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = ns_ ? ns_->fork_as(recorded.value) : fork();
  if (pid < 0) return make_error("fork: " + errno_text());
  if (pid == 0) stub_main(reader_->header().getBoundCpu());
  RR_LOG("new process for %d: pid %d in the namespace (live %d)", recorded.value, PidNamespace::inner_tid(pid), pid);
  auto task = std::make_unique<Task>(pid, recorded);
  WaitStatus st = task->wait();
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGSTOP)
    return make_error("the replay process did not start: " + st.describe());
  task->set_options(kStubOptions);
  return task;
}

Status ReplaySession::spawn_stub(RecordedTid recorded) {
  auto rt = std::make_unique<ReplayTask>();
  RR_ASSIGN_OR_RETURN(rt->task, spawn_process(recorded));
  rt->tgid = recorded.value;
  rt->fds = std::make_shared<FdTable>();
  initial_tid_ = recorded.value;
  tasks_[recorded.value] = std::move(rt);
  return {};
}

Status ReplaySession::run_to(uint64_t target) {
  while (!at_end_ && (target == 0 || current_event_ < target)) {
    StreamPos frame_pos = next_frame_pos_;
    Result<std::optional<FrameData>> next = take_next();
    if (!next.ok()) return next.take_error();
    if (!next.value()) {
      at_end_ = true;
      if (!exited_ || !tasks_.empty()) return make_error("the trace ends at event " + std::to_string(current_event_) +
                                      " without the program's exit (recording was interrupted)");
      break;
    }
    trace::Frame::Reader f = next.value()->frame();
    if (f.getEvent() != current_event_ + 1)
      return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " follows event " +
                        std::to_string(current_event_));
    try {
      applying_ = true;
      applying_pos_ = frame_pos;
      signal_stop_.reset();
      Status applied = apply(f);
      applying_ = false;
      RR_TRY(std::move(applied));
    } catch (const kj::Exception& e) {
      return make_error("trace is corrupt at event " + std::to_string(f.getEvent()) + ": " + e.getDescription().cStr());
    } catch (const FatalError& e) {
      return make_error("replay failed at event " + std::to_string(f.getEvent()) + ": " + e.what());
    }
    current_event_ = f.getEvent();
    if (progress_ && current_event_ % 4096 == 0) progress_(current_event_);
    if (hook_) hook_->after_event(*this);
  }
  if (target != 0 && current_event_ < target)
    return make_error("event " + std::to_string(target) + " is past the end of the trace (last event " +
                      std::to_string(current_event_) + ")");
  return {};
}

Status ReplaySession::apply(trace::Frame::Reader f) {
  if (f.which() == trace::Frame::EXEC) return apply_exec(f, f.getExec());
  if (initial_tid_ == 0) return make_error("trace is corrupt: it does not start with an exec");
  auto it = tasks_.find(f.getTid());
  if (it == tasks_.end())
    return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " names task " +
                      std::to_string(f.getTid()) + ", which does not exist at that point");
  ReplayTask& rt = *it->second;
  switch (f.which()) {
    case trace::Frame::EXEC: break;
    case trace::Frame::SYSCALL: return apply_syscall(f, f.getSyscall(), rt);
    case trace::Frame::SYSCALL_ENTRY: return apply_syscall_entry(f, f.getSyscallEntry(), rt);
    case trace::Frame::SIGNAL: return apply_signal(f, f.getSignal(), rt);
    case trace::Frame::RDTSC: return apply_rdtsc(f, f.getRdtsc(), rt);
    case trace::Frame::EXIT: return apply_exit(f, f.getExit(), rt);
  }
  return make_error("trace is corrupt: unknown event kind at event " + std::to_string(f.getEvent()));
}

Status ReplaySession::apply_exec(trace::Frame::Reader f, trace::ExecImage::Reader image) {
  if (initial_tid_ != 0) return make_error("trace is corrupt: a second initial exec");
  RR_TRY(spawn_stub(RecordedTid{f.getTid()}));
  restore_image(*tasks_[f.getTid()]->task, image_from_capnp(image), reader_->dir());
  return {};
}

WaitStatus ReplaySession::resume_and_wait(ReplayTask& rt, ResumeHow how) {
  Task& t = *rt.task;
  bool entered_handler = false;
  if (rt.pending_sig && deliver_to_handler(t, rt.pending_sig)) {
    write_frame_state(t, rt.pending_frame);
    rt.pending_sig = 0;
    entered_handler = true;
  }
  if (hook_ && how == ResumeHow::Sysemu) return run_user_code(rt, entered_handler);
  t.resume(how, rt.pending_sig);
  rt.pending_sig = 0;
  return wait_filtered(rt, how);
}

void ReplaySession::restart_without_signal(ReplayTask& rt) {
  // A signal event at the interrupted exit is being delivered now: the
  // kernel decides as it enters the handler, as it did in the recording.
  if (rt.pending_sig) return;
  Registers r = rt.task->regs();
  if (!restart_undecided(r)) return;
  // The recording went on to a syscall entry without a signal here (another
  // thread took it, or the wakeup was no signal), so its kernel restarted
  // the call. Replay's kernel emulated the call and sees no signal: it would
  // return the code to user space. The recorder checked that the entry is
  // the restarted call; reach_syscall_entry compares its registers.
  rt.task->set_regs(restarted_without_handler(r));
}

namespace {

constexpr int kSiKernel = 0x80;  // si_code of an int3 trap
constexpr uint64_t kEflagsResume = 1ull << 16;  // RF: skip instruction breakpoints once
constexpr uint64_t kDr6Hits = 0xf;

// Breakpoints and watchpoints written into one task for one piece of user
// code, and taken out again when the piece ends, so that nothing else (the
// replay's own syscalls, checkpoints, a debugger's memory reads) ever sees
// them.
class ArmedTraps {
 public:
  ArmedTraps(Task& t, const TrapSet& traps, uint64_t skip) : t_(t) {
    for (uint64_t a : traps.sw) {
      if (a == skip) continue;
      uint8_t orig;
      if (!t.read_mem(RemotePtr(a), &orig, 1)) continue;  // not mapped (yet)
      uint8_t int3 = 0xcc;
      t.write_mem(RemotePtr(a), &int3, 1);
      saved_.push_back({a, orig});
    }
    uint64_t dr7 = 0;
    for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
      const HwWatch& w = traps.hw[i];
      if (w.kind == WatchKind::Exec && w.addr == skip) continue;
      uint64_t rw = w.kind == WatchKind::Exec ? 0 : w.kind == WatchKind::Write ? 1 : 3;
      uint64_t len = w.kind == WatchKind::Exec ? 0 : w.len == 1 ? 0 : w.len == 2 ? 1 : w.len == 8 ? 2 : 3;
      t.set_debug_reg((int)i, w.addr);
      dr7 |= (1ull << (2 * i)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
    }
    if (dr7) {
      t.set_debug_reg(6, 0);
      t.set_debug_reg(7, dr7);
      dr7_set_ = true;
    }
  }
  // Which debug-register slots hit (DR6 bits 0-3); call before disarm().
  uint64_t hits() { return dr7_set_ ? t_.debug_reg(6) & kDr6Hits : 0; }
  bool armed_sw(uint64_t a) const {
    for (const auto& s : saved_)
      if (s.addr == a) return true;
    return false;
  }
  void disarm() {
    if (!t_.alive()) return;
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) t_.write_mem(RemotePtr(it->addr), &it->orig, 1);
    saved_.clear();
    if (dr7_set_) {
      t_.set_debug_reg(7, 0);
      t_.set_debug_reg(6, 0);
      dr7_set_ = false;
    }
  }
  ~ArmedTraps() {
    try {
      disarm();
    } catch (const FatalError&) {
    }
  }

 private:
  struct Saved {
    uint64_t addr;
    uint8_t orig;
  };
  Task& t_;
  std::vector<Saved> saved_;
  bool dr7_set_ = false;
};

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
  StretchCounter(Task& t, uint64_t addr) : t_(t), addr_(addr) {
    auto c = ExecutionCounter::open(t.tid(), addr, 0);
    if (!c.ok()) fatal(c.error().message);
    counter_ = std::make_unique<ExecutionCounter>(std::move(c.value()));
  }
  // Just before a resume (`armed_exec_here`: an instruction breakpoint of the
  // piece is at the task's instruction and must hit at once).
  void before_resume(bool armed_exec_here) {
    Registers r = t_.regs();
    if (r.ip().as_int() != addr_) return;
    bool rf = r.raw().eflags & kEflagsResume;
    if (counted_here_ && !rf) {
      if (armed_exec_here) {
        --adjust_;  // it hits again at once, and is counted again
      } else {
        r.raw().eflags |= kEflagsResume;
        t_.set_regs(r);
      }
    } else if (!counted_here_ && rf) {
      ++adjust_;  // it runs unseen
      counted_here_ = true;
    }
  }
  // After a stop: the kernel has counted the instruction the task is at if
  // an instruction breakpoint or counter there stopped it, or if the stop is
  // between two iterations of it (a REP instruction: the resume flag in the
  // stop's flags); after a step or a watchpoint it has not begun yet.
  void stopped(bool at_instruction_break, bool inside) {
    counted_here_ = (at_instruction_break || inside) && t_.regs().ip().as_int() == addr_;
  }
  // Executions that began before the task's current point.
  uint64_t executions() const {
    int64_t n = (int64_t)counter_->count() + adjust_ - (counted_here_ ? 1 : 0);
    return n < 0 ? 0 : (uint64_t)n;
  }

 private:
  Task& t_;
  uint64_t addr_;
  std::unique_ptr<ExecutionCounter> counter_;
  int64_t adjust_ = 0;
  bool counted_here_ = false;
};

}  // namespace

WaitStatus ReplaySession::run_user_code(ReplayTask& rt, bool entered_handler) {
  Task& t = *rt.task;
  hook_->stretch_begins(*this, rt);
  std::unique_ptr<StretchCounter> whole;
  if (uint64_t a = hook_->stretch_counter()) whole = std::make_unique<StretchCounter>(t, a);
  static const TrapSet kNone;
  // A piece's execution counter lives until the piece reports (a step over
  // a breakpoint inside the piece does not restart it).
  // (A unique_ptr: GCC 12 warns wrongly about an optional's destructor here.)
  std::unique_ptr<ExecutionCounter> counter;
  for (;;) {
    ExecutionHook::Directive d = hook_->next_piece(*this, rt);
    if (entered_handler && d.step) {
      // Entering a signal handler was the step: stop at its first instruction.
      entered_handler = false;
      TrapHit h;
      if (whole) h.executions = whole->executions();
      hook_->on_trap(*this, rt, h);
      continue;
    }
    entered_handler = false;
    if (!counter && d.until) {
      // The instruction the piece starts at does not count, unless it starts
      // the stretch: the resume flag lets it run past instruction
      // breakpoints once.
      Registers r = t.regs();
      bool rf = r.raw().eflags & kEflagsResume;
      if (d.count_first == rf) {
        r.raw().eflags ^= kEflagsResume;
        t.set_regs(r);
      }
      auto c = ExecutionCounter::open(t.tid(), d.until, d.until_count);
      if (!c.ok()) fatal(c.error().message);
      counter = std::make_unique<ExecutionCounter>(std::move(c.value()));
    }
    const TrapSet& traps = d.traps ? *d.traps : kNone;
    uint64_t ip = t.regs().ip().as_int();
    // A breakpoint at the instruction about to run is stepped over first.
    bool at_break = d.skip_current && traps.breaks_at(ip);
    bool stepping = d.step || at_break;
    WaitStatus st;
    TrapHit hit;
    bool ours = false;
    bool instruction_break = false;  // stopped by an instruction breakpoint or counter at its address
    {
      ArmedTraps armed(t, traps, at_break ? ip : 0);
      if (whole) {
        bool exec_here = !at_break && std::any_of(traps.hw.begin(), traps.hw.end(), [&](const HwWatch& w) {
          return w.kind == WatchKind::Exec && w.addr == ip;
        });
        whole->before_resume(exec_here);
      }
      t.resume(stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu, rt.pending_sig);
      rt.pending_sig = 0;
      // A signal replay passes over must not turn a step into a run.
      st = wait_filtered(rt, stepping ? ResumeHow::SysemuSingleStep : ResumeHow::Sysemu);
      if (st.stop_sig() == SIGTRAP) {
        siginfo_t si = t.siginfo();
        uint64_t slots = armed.hits();
        Registers r = t.regs();
        uint64_t at = r.ip().as_int();
        if (d.until && si.si_code == kTrapPerf) {
          hit.kind = TrapHit::Counted;
          hit.addr = d.until;
          instruction_break = true;
          ours = true;
        } else if (si.si_code == kSiKernel && armed.armed_sw(at - 1)) {
          hit.kind = TrapHit::Software;
          hit.addr = at - 1;
          r.set_ip(RemotePtr(at - 1));
          armed.disarm();
          t.set_regs(r);
          instruction_break = true;
          ours = true;
        } else if (slots) {
          for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
            if (!(slots & (1ull << i))) continue;
            hit.kind = TrapHit::Hardware;
            hit.addr = traps.hw[i].addr;
            hit.watch = traps.hw[i].kind;
            instruction_break = hit.watch == WatchKind::Exec;
            break;
          }
          ours = true;
        } else if (stepping && si.si_code == TRAP_TRACE) {
          hit.kind = TrapHit::Step;
          ours = true;
        }
      }
    }
    if (!ours) {
      if (counter) counter.reset();
      hook_->stretch_ends(*this, rt);
      return st;
    }
    hit.inside = !instruction_break && (t.regs().raw().eflags & kEflagsResume);
    if (whole) {
      whole->stopped(instruction_break, hit.inside);
      hit.executions = whole->executions();
    }
    // Stepping over a breakpoint is ours alone, unless asked for.
    if (hit.kind == TrapHit::Step && !d.step) continue;
    if (counter) counter.reset();
    hook_->on_trap(*this, rt, hit);
  }
}

WaitStatus ReplaySession::wait_filtered(ReplayTask& rt, ResumeHow how) {
  for (;;) {
    WaitStatus st = rt.task->wait();
    int sig = st.stop_sig();
    if (sig && !raised_by_instruction(sig) && sig != rt.queued_sig) {
      rt.task->resume(how, 0);
      continue;
    }
    return st;
  }
}

Error ReplaySession::divergence(trace::Frame::Reader f, const std::string& what) {
  return make_error(ErrorKind::Divergence, "replay diverged at event " + std::to_string(f.getEvent()) + ", tid " +
                    std::to_string(f.getTid()) + ": " + what);
}

Status ReplaySession::check_regs(trace::Frame::Reader f, Task& t, const char* what, const Registers& expected) {
  Registers now = t.regs();
  std::string d = now.diff(expected);
  if (d.empty()) return {};
  return divergence(f, std::string("registers differ ") + what + " (replay != recording): " + d);
}

static std::string describe_stop(const WaitStatus& st) {
  if (st.stop_sig()) return std::string("signal ") + strsignal(st.stop_sig());
  return st.describe();
}

bool ReplaySession::reenter_syscall(ReplayTask& rt, Registers regs, int64_t nr, WaitStatus* st) {
  Task& t = *rt.task;
  regs.set_ip(regs.ip() + (uint64_t)-2);
  regs.set_syscall_result(nr);
  t.set_regs(regs);
  t.resume(ResumeHow::Syscall);
  *st = wait_filtered(rt, ResumeHow::Syscall);
  if (st->is_syscall_stop() && !t.at_syscall_entry()) {
    // The exit stop of the syscall SYSEMU skipped.
    t.resume(ResumeHow::Syscall);
    *st = wait_filtered(rt, ResumeHow::Syscall);
  }
  return st->is_syscall_stop() && t.at_syscall_entry();
}

Registers ReplaySession::execute_in_place(ReplayTask& rt) {
  Task& t = *rt.task;
  Registers r = t.regs();
  int64_t nr = r.syscallno();
  WaitStatus st;
  if (!reenter_syscall(rt, r, nr, &st))
    fatal("re-executing " + syscall_name(nr) + " did not reach its entry: " + describe_stop(st));
  t.resume(ResumeHow::Syscall);
  st = wait_filtered(rt, ResumeHow::Syscall);
  if (!st.is_syscall_stop()) fatal("re-executing " + syscall_name(nr) + " did not return: " + describe_stop(st));
  return t.regs();
}

Status ReplaySession::reach_syscall_entry(trace::Frame::Reader f, int64_t nr, trace::Registers::Reader expected,
                                          ReplayTask& rt) {
  Task& t = *rt.task;
  restart_without_signal(rt);
  WaitStatus st = resume_and_wait(rt, ResumeHow::Sysemu);
  if (st.ended()) return divergence(f, "the program " + st.describe() + " where the recording made syscall " + syscall_name(nr));
  if (!st.is_syscall_stop())
    return divergence(f, "expected syscall " + syscall_name(nr) + ", got " + describe_stop(st) + " at rip " +
                             hex(t.regs().ip().as_int()));
  RR_TRY(check_regs(f, t, ("at the entry of " + syscall_name(nr)).c_str(), regs_from_capnp(expected)));
  ++counters_.syscalls;
  return {};
}

Status ReplaySession::apply_syscall_entry(trace::Frame::Reader f, trace::SyscallEntryEvent::Reader ev, ReplayTask& rt) {
  if (rt.where != ReplayTask::Where::AtEvent)
    return make_error("trace is corrupt: two syscall entries in a row for task " + std::to_string(f.getTid()));
  int64_t nr = ev.getNumber();
  RR_TRY(reach_syscall_entry(f, nr, ev.getRegs(), rt));
  rt.where = ReplayTask::Where::AtEntry;
  const SyscallDesc* desc = syscall_desc(nr);
  if (desc && desc->policy == ReplayPolicy::Clone && ev.getChildTid() > 0) {
    // A vfork parent waits while its child runs: the child must exist now.
    RR_TRY(execute_clone(f, rt, ev.getChildTid(), true));
    rt.where = ReplayTask::Where::CloneDone;
  }
  return {};
}

Status ReplaySession::apply_syscall(trace::Frame::Reader f, trace::SyscallEvent::Reader sc, ReplayTask& rt) {
  Task& t = *rt.task;
  int64_t nr = sc.getNumber();
  ReplayTask::Where where = rt.where;
  rt.where = ReplayTask::Where::AtEvent;
  if (where == ReplayTask::Where::AtEvent) RR_TRY(reach_syscall_entry(f, nr, sc.getEntryRegs(), rt));
  const SyscallDesc* desc = syscall_desc(nr);
  if (!desc) return divergence(f, "the trace holds syscall " + syscall_name(nr) + ", unknown to this rr");
  int64_t result = sc.getResult();
  bool failed = result < 0 && result >= -4095;

  auto apply_writes = [&] {
    for (auto w : sc.getWrites()) {
      auto d = w.getData();
      t.write_mem(RemotePtr(w.getAddr()), d.begin(), d.size());
      counters_.bytes_written += d.size();
    }
  };
  auto set_result = [&] {
    Registers r = t.regs();
    r.set_syscall_result(result);
    t.set_regs(r);
  };
  auto check_result = [&](int64_t got) -> Status {
    if (got == result) return {};
    return divergence(f, syscall_name(nr) + " returned " + std::to_string(got) + " in replay, " + std::to_string(result) +
                             " in the recording");
  };

  switch (desc->policy) {
    case ReplayPolicy::Emulate:
    case ReplayPolicy::Unsupported:
      ++counters_.emulated;
      replay_mask_swap(rt, sc);
      apply_writes();
      set_result();
      if (sc.getEchoFd()) RR_TRY(echo_write(f, t, sc));
      break;
    case ReplayPolicy::Clone: {
      ++counters_.executed;
      if (!failed && where != ReplayTask::Where::CloneDone) RR_TRY(execute_clone(f, rt, (pid_t)result, false));
      if (rt.in_vfork) {
        // The parent returns once its child has exec'd or ended. A child
        // whose execve entry was an event of its own is inside an exec that
        // succeeds (the recorded parent returned first): it leaves the
        // parent's memory now, its image comes with its exec event.
        for (auto& [tid, c] : tasks_) {
          int64_t child_nr = c->where == ReplayTask::Where::AtEntry ? c->task->regs().syscallno() : -1;
          if (c->vfork_parent == rt.recorded_tid() && (child_nr == SYS_execve || child_nr == SYS_execveat))
            RR_TRY(detach_vfork_child(*c));
        }
        WaitStatus st = wait_filtered(rt, ResumeHow::Syscall);
        if (!st.is_syscall_stop()) return divergence(f, "the vfork parent did not return: " + describe_stop(st));
        rt.in_vfork = false;
        Registers r = t.regs();
        Registers entry = regs_from_capnp(sc.getEntryRegs());
        for (int i = 0; i < 6; ++i) r.set_arg(i, entry.arg(i));
        r.set_syscallno(nr);
        t.set_regs(r);
      }
      apply_writes();
      set_result();
      break;
    }
    case ReplayPolicy::ExecuteSame: {
      ++counters_.executed;
      Registers after = execute_in_place(rt);
      // set_tid_address returns the live tid, which replay keeps as recorded.
      if (nr != SYS_set_tid_address) RR_TRY(check_result(after.syscall_result()));
      apply_writes();
      set_result();
      break;
    }
    case ReplayPolicy::Sigreturn: {
      ++counters_.executed;
      execute_in_place(rt);
      RR_TRY(check_regs(f, t, "after rt_sigreturn", regs_from_capnp(sc.getExitRegs())));
      break;
    }
    case ReplayPolicy::MemoryMap: {
      ++counters_.executed;
      if (failed) {
        apply_writes();
        set_result();
        break;
      }
      if (nr == SYS_mmap) {
        auto map = sc.getMap();
        int64_t got;
        {
          RemoteSyscalls rs(t);
          if (sc.getHasMap() && map.hasFile() && map.getFile().size() > 0) {
            std::string file = map.getFile().cStr();
            bool emulated = shared_files_.count(file) > 0;
            std::string open_path = reader_->dir() + "/" + file;
            if (emulated) open_path = "/proc/" + std::to_string(getpid()) + "/fd/" + std::to_string(emulated_file(file));
            RemotePtr path = rs.scratch_string(open_path);
            int64_t fd = rs.checked("opening a mapped file's trace copy", SYS_openat,
                                    {(uint64_t)AT_FDCWD, path.as_int(), (uint64_t)(emulated ? O_RDWR : O_RDONLY) | O_CLOEXEC});
            // The trace copy is never written: shared mappings of it become
            // private, except for files with a shared emulated copy.
            bool shared = emulated && (map.getFlags() & MAP_SHARED);
            uint64_t flags = (map.getFlags() & ~(uint64_t)(MAP_SHARED | MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE | MAP_PRIVATE)) |
                             (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
            got = rs.syscall(SYS_mmap, {(uint64_t)result, map.getLength(), map.getProt(), flags, (uint64_t)fd, map.getOffset()});
            rs.syscall(SYS_close, {(uint64_t)fd});
          } else {
            Registers r = t.regs();
            uint64_t flags = (r.arg(3) & ~(uint64_t)MAP_FIXED_NOREPLACE) | MAP_FIXED;
            if (!(flags & MAP_ANONYMOUS)) {
              // A device mapping such as /dev/zero: anonymous memory of the same sharing.
              flags |= MAP_ANONYMOUS;
            }
            if ((flags & MAP_SHARED_VALIDATE) == MAP_SHARED_VALIDATE) flags = (flags & ~(uint64_t)MAP_SHARED_VALIDATE) | MAP_SHARED;
            got = rs.syscall(SYS_mmap, {(uint64_t)result, r.arg(1), r.arg(2), flags, (uint64_t)-1, 0});
          }
        }
        RR_TRY(check_result(got));
        apply_writes();
        set_result();
      } else if (nr == SYS_mremap) {
        // The kernel would pick another place for a moved mapping (replay
        // processes do not share the recording's mmap base): name it.
        Registers r = t.regs();
        int64_t got;
        {
          RemoteSyscalls rs(t);
          if ((uint64_t)result == r.arg(0))
            got = rs.syscall(SYS_mremap, {r.arg(0), r.arg(1), r.arg(2), r.arg(3) & ~(uint64_t)MREMAP_MAYMOVE, 0});
          else
            got = rs.syscall(SYS_mremap, {r.arg(0), r.arg(1), r.arg(2), r.arg(3) | MREMAP_MAYMOVE | MREMAP_FIXED, (uint64_t)result});
        }
        RR_TRY(check_result(got));
        apply_writes();
        set_result();
      } else {
        Registers after = execute_in_place(rt);
        RR_TRY(check_result(after.syscall_result()));
        apply_writes();
      }
      break;
    }
    case ReplayPolicy::Exec: {
      if (failed || !sc.hasImage()) {
        apply_writes();
        set_result();
        break;
      }
      RR_TRY(replay_exec(f, rt, sc.getImage()));
      break;
    }
    case ReplayPolicy::Exit: {
      if (hook_) {
        size_t threads = 0;
        for (const auto& [tid, o] : tasks_) threads += o->tgid == rt.tgid && !o->exiting;
        if (threads == 1 || nr == SYS_exit_group) hook_->at_process_exit(*this, rt);
      }
      // Run it now: exit_group ends the other threads, whose ends may come
      // before this one's in the trace.
      Registers r = t.regs();
      r.set_ip(r.ip() + (uint64_t)-2);
      r.set_syscall_result(nr);
      t.set_regs(r);
      t.try_resume(ResumeHow::Cont, rt.pending_sig);
      rt.pending_sig = 0;
      rt.exiting = true;
      // The caller stops before it is torn down, so the state at this event
      // is a still picture; exit_group's other threads are going too.
      WaitStatus other;
      if (!wait_for_end_stop(rt, &other)) return divergence(f, syscall_name(nr) + " did not end the task: " + describe_stop(other));
      if (nr == SYS_exit_group)
        for (auto& [tid, o] : tasks_)
          if (o->tgid == rt.tgid) o->exiting = true;
      break;
    }
  }
  uint64_t args[6];
  for (int i = 0; i < 6; ++i) args[i] = regs_from_capnp(sc.getEntryRegs()).arg(i);
  // An exec of a vfork child replaced rt.task: `t` is gone then.
  Task& now = *rt.task;
  if (now.alive() && !rt.exiting)
    rt.fds->on_syscall(nr, args, result, [&](RemotePtr a, void* b, size_t n) { return now.read_mem(a, b, n); });
  return {};
}

Status ReplaySession::apply_signal(trace::Frame::Reader f, trace::SignalEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  int sig = ev.getSigno();
  if (rt.where != ReplayTask::Where::AtEvent) return make_error("trace is corrupt: a signal inside a syscall");
  if (!ev.getSynchronous() && rt.queued_sig != sig) {
    syscall(SYS_tkill, t.tid(), sig);
    rt.queued_sig = sig;
  }
  WaitStatus st = resume_and_wait(rt, ResumeHow::Sysemu);
  ++counters_.signals;  // after the run: a debugger may snapshot inside it
  rt.queued_sig = 0;
  if (st.stop_sig() != sig)
    return divergence(f, std::string("expected signal ") + strsignal(sig) + ", got " + describe_stop(st));
  RR_TRY(check_regs(f, t, (std::string("at delivery of ") + strsignal(sig)).c_str(), regs_from_capnp(ev.getRegs())));
  if (!ev.getSynchronous()) {
    std::string info = data_string(ev.getSiginfo());
    if (info.size() != sizeof(siginfo_t)) return make_error("trace is corrupt: bad siginfo size");
    siginfo_t si;
    memcpy(&si, info.data(), sizeof(si));
    t.set_siginfo(si);
  }
  rt.pending_sig = ev.getDeliver() ? sig : 0;
  // Only a debugger asks (and the fatal test reads /proc).
  if (hook_) signal_stop_ = SignalStop{rt.recorded_tid(), sig, rt.pending_sig && signal_is_fatal(t, sig)};
  rt.pending_frame = FrameKernelState{ev.getFrameErr(), ev.getFrameTrapno(), ev.getFrameCr2(), data_string(ev.getFrameFpu())};
  return {};
}

Status ReplaySession::apply_rdtsc(trace::Frame::Reader f, trace::RdtscEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  if (rt.where != ReplayTask::Where::AtEvent) return make_error("trace is corrupt: an rdtsc inside a syscall");
  WaitStatus st = resume_and_wait(rt, ResumeHow::Sysemu);
  ++counters_.rdtsc;
  if (st.stop_sig() != SIGSEGV) return divergence(f, "expected an rdtsc trap, got " + describe_stop(st));
  RR_TRY(check_regs(f, t, "at rdtsc", regs_from_capnp(ev.getRegs())));
  Registers r = t.regs();
  user_regs_struct& raw = r.raw();
  raw.rax = ev.getTsc() & 0xffffffffu;
  raw.rdx = ev.getTsc() >> 32;
  if (ev.getRdtscp()) raw.rcx = ev.getAux();
  raw.rip += ev.getRdtscp() ? 3 : 2;
  t.set_regs(r);
  return {};
}

Status ReplaySession::apply_exit(trace::Frame::Reader f, trace::ExitEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  pid_t recorded = rt.recorded_tid();
  if (!rt.end_seen && t.alive()) {
    if (!rt.exiting) {
      // Killed from outside: by SIGKILL (kill is emulated, so send it now),
      // by a fatal signal already delivered, or with its process.
      if (ev.getKilledBy() == SIGKILL) syscall(SYS_tkill, t.tid(), SIGKILL);
      t.try_resume(ResumeHow::Cont, rt.pending_sig);
      rt.pending_sig = 0;
    }
    WaitStatus other;
    if (!wait_for_end_stop(rt, &other))
      return divergence(f, "expected task " + std::to_string(recorded) + " to end, got " + describe_stop(other));
  }
  WaitStatus status = rt.end_status;
  bool at_exit_stop = rt.end_seen && rt.end_is_exit_stop;
  int code = status.exited() ? status.exit_code() : 0;
  int killed = status.killed() ? status.term_sig() : 0;
  if (ev.getKilledBy() != killed || (!killed && ev.getExitCode() != code))
    return divergence(f, "task " + std::to_string(recorded) + " " + status.describe() +
                             " in replay, but ended with status " + std::to_string(ev.getExitCode()) + " / signal " +
                             std::to_string(ev.getKilledBy()) + " in the recording");
  bool leader_outlived = false;
  if (at_exit_stop) {
    t.try_resume(ResumeHow::Cont);
    size_t threads = 0;
    for (const auto& [tid, o] : tasks_) threads += o->tgid == rt.tgid;
    // A leader ends for good only with its last thread.
    leader_outlived = recorded == rt.tgid && threads > 1;
    // What the kernel does as a thread ends (clearing its tid word) is done
    // before the next event, as in the recording.
    if (!leader_outlived) t.wait_until_ended();
  }
  if (leader_outlived) {
    zombies_.push_back(std::move(rt.task));
    tasks_.erase(recorded);
  } else {
    forget_task(recorded);
  }
  if (recorded == initial_tid_) {
    exited_ = true;
    exit_code_ = code;
    killed_by_ = killed;
  }
  return {};
}

bool ReplaySession::wait_for_end_stop(ReplayTask& rt, WaitStatus* other) {
  Task& t = *rt.task;
  for (;;) {
    WaitStatus st = wait_filtered(rt, ResumeHow::Cont);
    if (st.ended()) {
      rt.end_status = st;
      rt.end_is_exit_stop = false;
      break;
    }
    if (st.ptrace_event() == PTRACE_EVENT_EXIT) {
      rt.end_status = WaitStatus((int)t.event_msg());
      rt.end_is_exit_stop = true;
      break;
    }
    *other = st;
    return false;
  }
  rt.end_seen = true;
  rt.exiting = true;
  return true;
}

Status ReplaySession::execute_clone(trace::Frame::Reader f, ReplayTask& rt, pid_t recorded_child, bool keep_vfork) {
  Task& t = *rt.task;
  Registers entry = t.regs();
  SyscallArgs call;
  call.nr = entry.syscallno();
  for (int i = 0; i < 6; ++i) call.arg[i] = entry.arg(i);
  TaskMemReader reader(t);
  uint64_t flags = 0;
  if (!clone_flags(call, reader, &flags)) return divergence(f, "cannot read the arguments of " + syscall_name(call.nr));
  // A vfork child's image is rebuilt in place, which must not touch the
  // parent's memory: replay forks it instead. A pidfd would be a real fd the
  // program does not know; the recorded number is written instead.
  uint64_t run_flags = flags & ~(uint64_t)CLONE_PIDFD;
  bool vfork = (flags & CLONE_VFORK) && !(flags & CLONE_THREAD);
  if (vfork && !keep_vfork) {
    run_flags &= ~(uint64_t)(CLONE_VFORK | CLONE_VM);
    vfork = false;
  }
  Registers r = entry;
  int64_t run_nr = call.nr;
  std::string saved_scratch;
  uint64_t ctid = 0;
  // In replay's PID namespace every clone runs as clone3 with set_tid, so
  // the new task gets its recorded tid (and the kernel writes that tid
  // wherever it writes one: tid words, robust futexes).
  bool exact = ns_ != nullptr && recorded_child > 1;
  struct clone_args args;
  memset(&args, 0, sizeof(args));
  if (exact) {
    if (call.nr == SYS_clone3) {
      size_t size = std::min<uint64_t>(call.arg[1], sizeof(args));
      if (size < CLONE_ARGS_SIZE_VER0 || !t.read_mem(RemotePtr(call.arg[0]), &args, size))
        return divergence(f, "cannot read clone3's arguments");
      args.flags = run_flags;
    } else {
      // clone ignores CLONE_DETACHED (musl passes it) and bits above 31;
      // clone3 refuses them.
      args.flags = (uint32_t)run_flags & ~(uint64_t)(CSIGNAL | CLONE_DETACHED);
      args.exit_signal = (run_flags & (CLONE_THREAD | CLONE_PARENT)) ? 0 : run_flags & CSIGNAL;
      if (call.nr == SYS_clone) {
        // clone's stack argument is the new stack pointer; clone3 starts
        // the child at stack + stack_size.
        if (call.arg[1]) {
          args.stack = call.arg[1] - 8;
          args.stack_size = 8;
        }
        args.parent_tid = call.arg[2];
        args.child_tid = call.arg[3];
        args.tls = call.arg[4];
      }
    }
    ctid = args.child_tid;
    args.set_tid = kRrScratch + sizeof(args);
    args.set_tid_size = 1;
    args.cgroup = 0;
    saved_scratch = t.read_bytes(RemotePtr(kRrScratch), sizeof(args) + sizeof(pid_t));
    int32_t want = recorded_child;
    t.write_mem(RemotePtr(kRrScratch), &args, sizeof(args));
    t.write_mem(RemotePtr(kRrScratch + sizeof(args)), &want, sizeof(want));
    run_nr = SYS_clone3;
    r.set_arg(0, kRrScratch);
    r.set_arg(1, sizeof(args));
  } else if (call.nr == SYS_fork || (call.nr == SYS_vfork && !vfork)) {
    run_nr = SYS_clone;
    r.set_arg(0, run_flags);
    for (int i = 1; i < 5; ++i) r.set_arg(i, 0);
  } else if (call.nr == SYS_clone) {
    r.set_arg(0, run_flags);
    ctid = call.arg[3];
  } else {
    size_t size = std::min<uint64_t>(call.arg[1], 256);
    std::string raw(size, '\0');
    if (!t.read_mem(RemotePtr(call.arg[0]), raw.data(), size)) return divergence(f, "cannot read clone3's arguments");
    memcpy(raw.data(), &run_flags, sizeof(run_flags));
    if (size >= 24) memcpy(&ctid, raw.data() + 16, sizeof(ctid));
    saved_scratch = t.read_bytes(RemotePtr(kRrScratch), size);
    t.write_mem(RemotePtr(kRrScratch), raw.data(), size);
    r.set_arg(0, kRrScratch);
  }
  WaitStatus st;
  for (int attempt = 0;; ++attempt) {
    if (!reenter_syscall(rt, r, run_nr, &st))
      return divergence(f, "re-executing " + syscall_name(call.nr) + " did not reach its entry: " + describe_stop(st));
    t.resume(ResumeHow::Syscall);
    st = wait_filtered(rt, ResumeHow::Syscall);
    if (!(exact && attempt == 0 && st.is_syscall_stop())) break;
    // The recorded tid is taken (by a task replay has not reaped, say):
    // any tid will do, translated like any other.
    RR_LOG("clone3 with set_tid %d failed (%lld); the task gets another tid", recorded_child,
           (long long)t.regs().syscall_result());
    args.set_tid = 0;
    args.set_tid_size = 0;
    t.write_mem(RemotePtr(kRrScratch), &args, sizeof(args));
  }
  int ev = st.ptrace_event();
  if (ev != PTRACE_EVENT_FORK && ev != PTRACE_EVENT_VFORK && ev != PTRACE_EVENT_CLONE)
    return divergence(f, syscall_name(call.nr) + " did not create a task in replay: " + describe_stop(st));
  pid_t live_child = (pid_t)t.event_msg();
  int cstatus = 0;
  while (waitpid(live_child, &cstatus, __WALL) < 0)
    if (errno != EINTR) return divergence(f, "the new task vanished: " + errno_text());
  t.resume(ResumeHow::Syscall);
  if (vfork) {
    // The parent stays in the kernel until the child execs or ends; its
    // SyscallEvent collects it. The child's first moves are in its memory.
    rt.in_vfork = true;
  } else {
    st = wait_filtered(rt, ResumeHow::Syscall);
    if (!st.is_syscall_stop()) return divergence(f, syscall_name(call.nr) + " did not return: " + describe_stop(st));
    Registers after = t.regs();
    if (!saved_scratch.empty()) t.write_mem(RemotePtr(kRrScratch), saved_scratch.data(), saved_scratch.size());
    for (int i = 0; i < 6; ++i) after.set_arg(i, entry.arg(i));
    after.set_syscallno(call.nr);
    after.set_syscall_result(recorded_child);
    t.set_regs(after);
  }

  RR_LOG("task %d is %d in replay's namespace (live %d)", recorded_child, PidNamespace::inner_tid(live_child), live_child);
  auto child = std::make_unique<ReplayTask>();
  child->task = std::make_unique<Task>(live_child, RecordedTid{recorded_child});
  WaitStatus cst(cstatus);
  if (!cst.stopped()) return divergence(f, "the new task ended at once: " + cst.describe());
  Task& c = *child->task;
  Registers cr = c.regs();
  for (int i = 0; i < 6; ++i) cr.set_arg(i, entry.arg(i));
  cr.set_syscallno(call.nr);
  c.set_regs(cr);
  if (vfork) child->vfork_parent = rt.recorded_tid();
  // clone3's arguments were in the shared scratch page; the parent is not
  // stopped yet, so they are cleared when the child leaves it.
  if (vfork && !saved_scratch.empty()) t.write_mem(RemotePtr(kRrScratch), saved_scratch.data(), saved_scratch.size());
  // The kernel wrote the live tid; the program saw the recorded one.
  if ((flags & CLONE_CHILD_SETTID) && ctid) c.write_val<int32_t>(RemotePtr(ctid), recorded_child);
  if (!saved_scratch.empty() && !(run_flags & CLONE_VM)) c.write_mem(RemotePtr(kRrScratch), saved_scratch.data(), saved_scratch.size());
  child->tgid = (flags & CLONE_THREAD) ? rt.tgid : recorded_child;
  child->fds = (flags & CLONE_FILES) ? rt.fds : std::make_shared<FdTable>(*rt.fds);
  tasks_[recorded_child] = std::move(child);
  return {};
}

Status ReplaySession::replay_exec(trace::Frame::Reader f, ReplayTask& rt, trace::ExecImage::Reader image) {
  if (rt.recorded_tid() != rt.tgid) RR_TRY(exec_from_thread(rt));
  retire_other_threads(rt);
  if (rt.vfork_parent) RR_TRY(detach_vfork_child(rt));
  Task& t = *rt.task;
  ExecKept kept = kept_by_exec(t);
  uint64_t ignored = kept.ignored, blocked = kept.blocked;
  {
    // execve resets caught signals to their default action and drops the
    // alternate signal stack; ignored signals and the mask stay.
    RemoteSyscalls rs(t);
    uint64_t caught = proc_sigset(t.tid(), "SigCgt");
    uint64_t now_ignored = proc_sigset(t.tid(), "SigIgn");
    for (int sig = 1; sig <= 64; ++sig) {
      uint64_t bit = 1ull << (sig - 1);
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      bool want_ignored = ignored & bit;
      if (!(caught & bit) && ((now_ignored & bit) != 0) == want_ignored) continue;
      uint64_t act[4] = {want_ignored ? (uint64_t)SIG_IGN : (uint64_t)SIG_DFL, 0, 0, 0};
      RemotePtr p = rs.scratch(act, sizeof(act));
      rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, p.as_int(), 0, 8});
    }
    stack_t none = {};
    none.ss_flags = SS_DISABLE;
    RemotePtr p = rs.scratch(&none, sizeof(none), 64);
    rs.syscall(SYS_sigaltstack, {p.as_int(), 0});
  }
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, t.tid(), (void*)sizeof(blocked), &blocked) != 0)
    return divergence(f, "cannot set the signal mask after execve: " + errno_text());
  restore_image(t, image_from_capnp(image), reader_->dir());
  rt.in_exec = false;
  rt.fds->on_exec();
  return {};
}

ReplaySession::ExecKept ReplaySession::kept_by_exec(const Task& t) {
  return {proc_sigset(t.tid(), "SigIgn"), proc_sigset(t.tid(), "SigBlk")};
}

Result<std::unique_ptr<Task>> ReplaySession::spawn_exec_process(pid_t recorded, ExecKept kept) {
  uint64_t ignored = kept.ignored, blocked = kept.blocked;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<Task> fresh, spawn_process(RecordedTid{recorded}));
  Task& t = *fresh;
  {
    RemoteSyscalls rs(t);
    for (int sig = 1; sig <= 64; ++sig) {
      if (!((ignored >> (sig - 1)) & 1) || sig == SIGKILL || sig == SIGSTOP) continue;
      uint64_t act[4] = {(uint64_t)SIG_IGN, 0, 0, 0};
      RemotePtr p = rs.scratch(act, sizeof(act));
      rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, p.as_int(), 0, 8});
    }
  }
  if (ptrace((__ptrace_request)PTRACE_SETSIGMASK, t.tid(), (void*)sizeof(blocked), &blocked) != 0)
    return make_error("cannot set the signal mask of a new process for an execve: " + errno_text());
  return fresh;
}

Status ReplaySession::detach_vfork_child(ReplayTask& rt) {
  Task& old = *rt.task;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<Task> fresh, spawn_exec_process(old.recorded_tid().value, kept_by_exec(old)));
  end_thread(old);
  rt.task = std::move(fresh);
  rt.vfork_parent = 0;
  rt.in_exec = true;
  return {};
}

Status ReplaySession::exec_from_thread(ReplayTask& rt) {
  pid_t tgid = rt.tgid, former = rt.recorded_tid();
  // The kernel ends every other thread and hands the leader's tid to this
  // one. Replay ends the whole process and builds the new image in a fresh
  // one that has the leader's pid.
  std::unique_ptr<ReplayTask> self = std::move(tasks_.at(former));
  tasks_.erase(former);
  ExecKept kept = kept_by_exec(*self->task);
  // A thread, reaped before its leader (the SIGKILL ends its whole process).
  self->task->kill();
  kill_processes(tgid);
  RR_ASSIGN_OR_RETURN(self->task, spawn_exec_process(tgid, kept));
  tasks_[tgid] = std::move(self);
  return {};
}

void ReplaySession::retire_other_threads(ReplayTask& rt) {
  std::vector<pid_t> others;
  for (const auto& [tid, o] : tasks_)
    if (o->tgid == rt.tgid && o.get() != &rt) others.push_back(tid);
  for (pid_t tid : others) {
    Task& o = *tasks_[tid]->task;
    if (o.alive()) {
      end_thread(o);
    }
    forget_task(tid);
  }
}

}  // namespace rr
