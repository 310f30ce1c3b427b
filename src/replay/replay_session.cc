#include "replay/replay_session.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <optional>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <utility>

#include "core/address_space.h"
#include "core/perf_counter.h"
#include "core/pid_namespace.h"
#include "core/progress_counter.h"
#include "core/random_insns.h"
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "preload/syscall_buffer.h"
#include "core/syscall_restart.h"
#include "core/tracee_setup.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "core/tracee_abi.h"
#include "trace/fpu_digest.h"
#include "trace/machine.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"
#include "replay/replay_internal.h"

namespace rr {

namespace {

// The body of a replay tracee before the supervisor rebuilds it: map the rr
// page where recordings have it, then stop for the supervisor.
// `stack`: the recording's RLIMIT_STACK, when the trace has it. Lowering
// it always works; raising it past this process's hard limit may not, and
// then a replayed stack overflow diverges (the registers at the fault differ).
[[noreturn]] void stub_main(int cpu, std::optional<struct rlimit> stack) {
  prepare_tracee_process(cpu);
  if (stack && setrlimit(RLIMIT_STACK, &*stack) != 0) {
    // The recorded hard limit is above this one's: the soft one may fit.
    struct rlimit now;
    if (getrlimit(RLIMIT_STACK, &now) == 0) {
      now.rlim_cur = std::min(stack->rlim_cur, now.rlim_max);
      setrlimit(RLIMIT_STACK, &now);
    }
  }
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
  // An alternate signal stack of the supervisor's is dropped; none is left
  // as it is. Dropping one stores SS_DISABLE, which the kernel then writes
  // into every signal frame's uc_stack.ss_flags, where a process that never
  // had one (the recording's, fresh from execve) shows 0: a handler that
  // reads it would see another value in replay.
  stack_t inherited = {};
  if (sigaltstack(nullptr, &inherited) == 0 && !(inherited.ss_flags & SS_DISABLE)) {
    stack_t no_stack = {};
    no_stack.ss_flags = SS_DISABLE;
    sigaltstack(&no_stack, nullptr);
  }
  void* p = mmap((void*)kRrPageAddr, kRrPageSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void*)kRrPageAddr) _exit(125);
  memcpy(p, kRrPageCode, sizeof(kRrPageCode));
  if (mprotect(p, kPageSize, PROT_READ | PROT_EXEC) != 0) _exit(125);
  syscall(SYS_close_range, 3, ~0u, 0);
  stop_for_tracer();
  _exit(125);
}

}  // namespace

bool raised_by_instruction(int sig) {
  return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS;
}

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

std::string describe_stop(const WaitStatus& st) {
  if (st.stop_sig()) return std::string("signal ") + strsignal(st.stop_sig());
  return st.describe();
}

Result<std::unique_ptr<ReplaySession>> ReplaySession::open(const std::string& trace_dir) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(trace_dir));
  std::string other_machine = machine_difference(reader->header());
  if (!other_machine.empty()) return make_error(ErrorKind::Unsupported, other_machine);
  std::unique_ptr<ReplaySession> s(new ReplaySession(std::move(reader)));
  // Only reached here with RR_IGNORE_MACHINE where the layouts differ: a
  // digest taken over another machine's XSAVE layout (other components,
  // another size) cannot equal one taken here, whatever the state.
  uint32_t recorded_xsave = s->reader_->header().getXsaveSize();
  uint32_t here_xsave = this_machine().xsave_size;
  s->fpu_comparable_ = recorded_xsave == 0 || recorded_xsave == here_xsave;
  if (!s->fpu_comparable_)
    RR_LOG("the trace's XSAVE area is %u bytes, %u here: FPU digests are not compared", recorded_xsave, here_xsave);
  // Written when recording finishes: a finished trace must have it.
  auto shared = s->reader_->read_part("shared-files");
  if (!shared.ok() && (shared.error().kind == ErrorKind::Corrupt || s->reader_->ends_finished()))
    return make_error(ErrorKind::Corrupt, shared.error().kind == ErrorKind::Corrupt
                                              ? shared.error().message
                                              : s->reader_->dir() + " is incomplete: its shared-files list is missing");
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

std::string ReplaySession::pid_namespace_refusal() const {
  for (const auto& [tid, rt] : tasks_)
    if (rt->in_program_pid_ns())
      return "task " + std::to_string(tid.value) +
             (rt->ns_tids.empty() ? " makes its children in a PID namespace the program created"
                                  : " lives in a PID namespace the program created") +
             ", which checkpoints and copies of a replay cannot rebuild yet";
  return {};
}

bool ReplaySession::can_checkpoint() const { return at_rest(); }

std::string ReplaySession::why_no_checkpoint() const { return why_not_at_rest(); }

std::string ReplaySession::why_not_at_rest() const {
  if (tasks_.empty()) return "no task";
  if (current_event_ < 1) return "before the first event";
  if (has_zombies()) return "a process ended and is not reaped";
  std::string pid_ns = pid_namespace_refusal();
  if (!pid_ns.empty()) return pid_ns;
  if (!ending_inits_.empty()) return "a PID namespace is ending";
  if (processes_share_memory()) return "two processes share their memory";
  std::map<RecordedTid, const FdTable*> tables;  // by process
  for (const auto& [tid, rt] : tasks_) {
    std::string task = "task " + std::to_string(tid.value) + " ";
    if (!rt->task->alive()) return task + "is gone";
    if (rt->exiting || rt->end_seen) return task + "is exiting";
    if (rt->in_exec) return task + "is in an exec";
    if (rt->in_vfork) return task + "waits for its vfork child";
    if (rt->vfork_parent.value) return task + "is a vfork child before its exec";
    if (rt->pending_sig != 0 || rt->queued_sig != 0) return task + "has a signal in flight";
    if (rt->step_next || (rt->tracer_dr7 & 0xff)) return task + "is stepped or watched by its tracer";
    if (rt->tracer_debug) return task + "has debug registers its tracer set";
    if (rt->where == ReplayTask::Where::CloneDone) return task + "has a clone whose exit is not replayed yet";
    if (!find_task(rt->tgid)) return task + "has lost its thread group leader";
    auto [it, fresh] = tables.emplace(rt->tgid, rt->fds.get());
    if (!fresh && it->second != rt->fds.get()) return task + "has an fd table of its own in a shared process";
  }
  return "";
}

bool ReplaySession::processes_share_memory() const {
  std::vector<pid_t> live;  // a live thread of each process that has shared its memory
  std::set<RecordedTid> seen;
  for (const auto& [tid, rt] : tasks_)
    if (rt->shares_memory && rt->task->alive() && seen.insert(rt->tgid).second) live.push_back(rt->task->tid());
  for (size_t i = 0; i < live.size(); ++i)
    for (size_t j = i + 1; j < live.size(); ++j) {
      long same = syscall(SYS_kcmp, live[i], live[j], KCMP_VM, 0, 0);
      if (same <= 0) return true;  // the same memory (or no way to tell)
    }
  return false;
}

bool ReplaySession::shares_between_processes() const {
  if (maps_segment(0) || processes_share_memory()) return true;
  std::map<RecordedTid, const FdTable*> tables;  // by process
  std::map<RecordedTid, const ReplayTask*> member;  // a thread of each (its leader may have ended)
  for (const auto& [tid, rt] : tasks_) {
    tables.emplace(rt->tgid, rt->fds.get());
    member.emplace(rt->tgid, rt.get());
  }
  std::set<const FdTable*> distinct;
  for (const auto& [tgid, table] : tables)
    if (!distinct.insert(table).second) return true;
  if (tables.size() > 1) {
    // A fork of each process would keep sharing its memory with the source.
    for (const auto& [tgid, task] : member)
      if (maps_shared_memory(*task)) return true;
  }
  return false;
}

bool ReplaySession::maps_shared_memory(const ReplayTask& member) const {
  std::string trace_prefix = reader_->dir() + "/";
  for (const MapEntry& e : read_maps(member.task->tid()))
    if (e.shared && !is_special_mapping(e) && ((e.prot & PROT_WRITE) || e.name.rfind(trace_prefix, 0) != 0)) return true;
  return false;
}

bool ReplaySession::maps_emulated_file() const {
  std::set<std::pair<uint64_t, uint64_t>> files;
  for (const auto& [name, fd] : emulated_files_) {
    struct stat st;
    if (fstat(fd.get(), &st) == 0) files.insert({(uint64_t)st.st_dev, (uint64_t)st.st_ino});
  }
  if (files.empty()) return false;
  for (const auto& [tid, rt] : tasks_) {
    if (!rt->is_leader()) continue;
    for (const MapEntry& e : read_maps(rt->task->tid()))
      if (files.count({e.dev, e.inode})) return true;
  }
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

std::optional<Registers> ReplaySession::next_event_task_regs() {
  const FrameData* next = peek();
  if (!next) return std::nullopt;
  auto it = tasks_.find(RecordedTid{next->frame().getTid()});
  if (it == tasks_.end()) return std::nullopt;
  return it->second->task->regs();
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
  ScopedFd src(::open((reader_->dir() + "/" + trace_file).c_str(), O_RDONLY | O_CLOEXEC));
  if (!src.is_open()) fatal_errno("cannot open the trace copy " + trace_file);
  auto mem = memfd_copy(src.get(), "the trace copy " + trace_file);
  if (!mem.ok()) fatal(mem.error().message);
  int fd = mem.value().get();
  emulated_files_.emplace(trace_file, std::move(mem.value()));
  return fd;
}

Result<ScopedFd> memfd_copy(int src, const std::string& what) {
  ScopedFd mem(memfd_create("rr-shared-file", 0));
  if (!mem.is_open()) return make_error("cannot make a memfd for " + what + ": " + errno_text());
  struct stat st;
  if (fstat(src, &st) != 0) return make_error("cannot stat " + what + ": " + errno_text());
  // Holes stay holes: a 1 TiB sparse file costs its data.
  RR_TRY(copy_sparse(src, mem.get(), st.st_size, what));
  return mem;
}

Status ReplaySession::apply_file_changes(trace::Frame::Reader f, trace::SyscallEvent::Reader sc) {
  for (auto c : sc.getFileChanges()) {
    std::string file = c.getFile().cStr();
    if (!shared_files_.count(file))
      return make_error(ErrorKind::Corrupt, "trace is corrupt: event " + std::to_string(f.getEvent()) + " changes " +
                                                file + ", which is no emulated file");
    int fd = emulated_file(file);
    auto data = c.getData();
    if (data.size() > 0) RR_TRY(write_at(fd, data.begin(), data.size(), c.getOffset(), "the emulated copy of " + file));
    if (c.getZeroLength() > 0 &&
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)c.getOffset(), (off_t)c.getZeroLength()) != 0)
      return make_error("cannot punch a hole in the emulated copy of " + file + ": " + errno_text());
    struct stat st;
    if (fstat(fd, &st) == 0 && (uint64_t)st.st_size != c.getSize() && ftruncate(fd, (off_t)c.getSize()) != 0)
      return make_error("cannot resize the emulated copy of " + file + ": " + errno_text());
  }
  return {};
}

ReplaySession::ReplaySession(std::unique_ptr<TraceReader> reader)
    : reader_(std::move(reader)), ns_(PidNamespace::root()) {}

// The tracees end before the namespace they live in (ns_) is let go.
ReplaySession::~ReplaySession() {
  // An ending init waits for the rest of its namespace: reaped after it.
  std::vector<Task*> inits;
  for (auto& t : ending_inits_) inits.push_back(t.get());
  kill_processes(std::nullopt, inits);
}

Result<std::unique_ptr<Task>> ReplaySession::spawn_process(RecordedTid recorded, int ns_fd,
                                                           const std::vector<pid_t>& ns_tids) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid;
  if (ns_fd >= 0) {
    std::vector<pid_t> want;
    if (ns_ && !ns_tids.empty()) {
      want.assign(ns_tids.rbegin(), ns_tids.rend());
      want.push_back(recorded.value);
    }
    pid = PidNamespace::fork_into(ns_fd, want);
  } else {
    pid = ns_ ? ns_->fork_as(recorded.value) : fork();
  }
  if (pid < 0) return make_error("fork: " + errno_text());
  if (pid == 0) {
    std::optional<struct rlimit> stack;
    if (reader_->header().hasStackLimit())
      stack = rlimit{reader_->header().getStackLimit().getCur(), reader_->header().getStackLimit().getMax()};
    stub_main(reader_->header().getBoundCpu(), stack);
  }
  RR_LOG("new process for %d: pid %d in the namespace (live %d)", recorded.value, PidNamespace::inner_tid(pid), pid);
  return attach_new_tracee(pid, recorded, kTraceeOptions, "the replay process");
}

Status ReplaySession::spawn_stub(RecordedTid recorded) {
  auto rt = std::make_unique<ReplayTask>();
  RR_ASSIGN_OR_RETURN(rt->task, spawn_process(recorded));
  add_process(std::move(rt), std::make_shared<FdTable>());
  initial_tid_ = recorded;
  return {};
}

Status ReplaySession::run_to(uint64_t target) {
  while (!at_end_ && (target == 0 || current_event_ < target)) {
    RR_ASSIGN_OR_RETURN(ReplayStop stop, run());
    if (stop.kind == ReplayStop::End) break;
  }
  if (target != 0 && current_event_ < target)
    return make_error("event " + std::to_string(target) + " is past the end of the trace (last event " +
                      std::to_string(current_event_) + ")");
  return {};
}

StreamPos ReplaySession::next_frame_position() const { return inside_ ? inside_->frame_pos : next_frame_pos_; }

Result<ReplayStop> ReplaySession::run(const RunRequest& req) {
  ReplayStop end;
  end.kind = ReplayStop::End;
  if (at_end_) return end;
  // The event stopped inside, applied again from its start (see inside_),
  // or the next one.
  StreamPos frame_pos = next_frame_pos_;
  std::optional<FrameData> frame;
  if (inside_) {
    frame_pos = inside_->frame_pos;
    frame = std::move(inside_->frame);
  } else {
    Result<std::optional<FrameData>> next = take_next();
    if (!next.ok()) return next.take_error();
    frame = std::move(next.value());
  }
  if (!frame) {
    at_end_ = true;
    if (!reader_->finished()) return make_error(ErrorKind::Corrupt, reader_->unfinished_message(current_event_));
    if (!exited_ || !tasks().empty())
      return make_error("the trace ends at event " + std::to_string(current_event_) + " without the program's exit");
    return end;
  }
  trace::Frame::Reader f = frame->frame();
  if (f.getEvent() != current_event_ + 1)
    return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " follows event " +
                      std::to_string(current_event_));
  // A stop inside the event leaves the counters as they were before it:
  // the next apply() counts it again from its start.
  ReplayCounters before = counters_;
  try {
    signal_stop_ = SignalStop{};
    exec_applied_ = RecordedTid{};
    forked_ = ReplayStop::Fork{};
    vfork_done_ = RecordedTid{};
    pause_.reset();
    progress_stretch_ = f.which() == trace::Frame::PROGRESS && !f.getProgress().getSpin() && !f.getProgress().getPoll();
    request_ = &req;
    Status applied = apply(f);
    request_ = nullptr;
    RR_TRY(std::move(applied));
  } catch (const kj::Exception& e) {
    return kj_error(e, ErrorKind::Corrupt, "trace is corrupt at event " + std::to_string(f.getEvent()) + ": ");
  } catch (const FatalError& e) {
    return make_error("replay failed at event " + std::to_string(f.getEvent()) + ": " + e.what());
  }
  if (pause_) {
    counters_ = before;
    inside_->frame = std::move(frame);
    inside_->frame_pos = frame_pos;
    return *std::exchange(pause_, std::nullopt);
  }
  RR_TRY(check_fpu_after(f));
  // A syscall's records were checked at its entry, before the call could
  // copy or replace the buffer.
  if (f.hasSyscallBuffer() && f.which() != trace::Frame::SYSCALL && f.which() != trace::Frame::SYSCALL_ENTRY) {
    if (ReplayTask* rt = find_task(RecordedTid{f.getTid()})) RR_TRY(finish_buffered_records(f, *rt));
  }
  lock_buffers(f);
  inside_.reset();
  current_event_ = f.getEvent();
  if (progress_ && current_event_ % 4096 == 0) progress_(current_event_);
  ReplayStop applied;
  applied.signal = signal_stop_;
  applied.exec = exec_applied_;
  applied.fork = forked_;
  applied.vfork_done = vfork_done_;
  return applied;
}

Status ReplaySession::apply(trace::Frame::Reader f) {
  if (f.which() == trace::Frame::EXEC) return apply_exec(f, f.getExec());
  RR_TRY(apply_fd_gate(f));
  feed_buffered_records(f);
  if (initial_tid_.value == 0) return make_error("trace is corrupt: it does not start with an exec");
  ReplayTask* found = find_task(RecordedTid{f.getTid()});
  if (!found)
    return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " names task " +
                      std::to_string(f.getTid()) + ", which does not exist at that point");
  ReplayTask& rt = *found;
  switch (f.which()) {
    case trace::Frame::EXEC: break;
    case trace::Frame::SYSCALL: return apply_syscall(f, f.getSyscall(), rt);
    case trace::Frame::SYSCALL_ENTRY: return apply_syscall_entry(f, f.getSyscallEntry(), rt);
    case trace::Frame::SIGNAL: return apply_signal(f, f.getSignal(), rt);
    case trace::Frame::RDTSC: return apply_rdtsc(f, f.getRdtsc(), rt);
    case trace::Frame::EXIT: return apply_exit(f, f.getExit(), rt);
    case trace::Frame::PROGRESS: return apply_progress(f, f.getProgress(), rt);
  }
  return make_error("trace is corrupt: unknown event kind at event " + std::to_string(f.getEvent()));
}

Status ReplaySession::check_image_files(const ProcessImage& img) {
  for (const MappingRecord& m : img.mappings)
    if (m.backing == Backing::File) RR_TRY(reader_->check_file(m.file));
  return img.mm.exe_file.empty() ? Status{} : reader_->check_file(img.mm.exe_file);
}

Status ReplaySession::apply_exec(trace::Frame::Reader f, trace::ExecImage::Reader image) {
  if (initial_tid_.value != 0) return make_error("trace is corrupt: a second initial exec");
  ProcessImage img = image_from_capnp(image);
  RR_TRY(check_image_files(img));
  RR_TRY(spawn_stub(RecordedTid{f.getTid()}));
  Task& t = *find_task(RecordedTid{f.getTid()})->task;
  restore_image(t, img, reader_->dir());
  return install_image_counter(t, image);
}

// The recorder's rewriting of an image's code, applied as recorded: its
// rdrand and rdseed traps; the counter page, the executable's, then the
// other code's (the loader).
Status ReplaySession::install_image_counter(Task& t, trace::ExecImage::Reader image) {
  RR_TRY(install_image_rewrite(t, image));
  // After the rewrite, as the recorder made them: a code image mapped over
  // the code holds the rewrite, not these traps.
  for (uint64_t addr : image.getRandomSites())
    if (!install_random_trap(t, addr))
      return make_error("replay cannot make the rdrand or rdseed at " + hex(addr - 1) + " trap as the recording did");
  return {};
}

Status ReplaySession::install_image_rewrite(Task& t, trace::ExecImage::Reader image) {
  if (!image.hasProgressCounter()) return {};
  // Format 1.19's lean stubs left flags that depended on the count, which
  // replay cannot reproduce (docs/progress-counter.md, the lean stub).
  if (reader_->header().getFormatMajor() == 1 && reader_->header().getFormatMinor() == 19)
    return make_error(ErrorKind::Unsupported,
                      "this trace was recorded with format 1.19's progress counter, whose lean stubs this rr does not "
                      "replay: record it again");
  auto pc = image.getProgressCounter();
  if (pc.getCounterPage() != kCounterPageAddr)
    return make_error(ErrorKind::Corrupt, "trace is corrupt: its progress counter page is not where this rr puts it");
  RemoteSyscalls rs(t);
  RR_TRY(map_counter_page(rs));
  RR_ASSIGN_OR_RETURN(CounterSetup main, reader_->counter_setup(pc));
  RR_TRY(install_rewrite(t, rs, main));
  for (auto more : image.getCodeCounters()) {
    RR_ASSIGN_OR_RETURN(CounterSetup setup, reader_->counter_setup(more));
    RR_TRY(install_rewrite(t, rs, setup));
  }
  return {};
}

std::optional<WaitStatus> ReplaySession::resume_and_wait(ReplayTask& rt, ResumeHow how) {
  Task& t = *rt.task;
  // One instruction a tracer inside the recording stepped: no debugger
  // stops inside it.
  bool tracer_step = rt.step_next && how == ResumeHow::Sysemu;
  if (tracer_step) {
    rt.step_next = false;
    how = ResumeHow::SysemuSingleStep;
  }
  bool stretch = debugger_stops_ && how == ResumeHow::Sysemu;
  if (stretch && inside_ && inside_->reached) return inside_->reached;
  if (stretch && inside_ && inside_->tid.value) {
    run_piece(rt, *request_);
    return std::nullopt;
  }
  bool entered_handler = false;
  if (rt.pending_sig) {
    HandlerEntry entry = deliver_to_handler(t, rt.pending_sig);
    if (entry.kind == HandlerEntry::Kind::Refused) {
      // No frame could be written and the kernel forced a SIGSEGV, as in
      // the recording, where that stop is the task's next event.
      rt.pending_sig = 0;
      return entry.stop;
    }
    if (entry.entered()) {
      write_frame_state(t, rt.pending_frame);
      rt.pending_sig = 0;
      entered_handler = true;
    }
  }
  if (stretch) {
    TrapHit begins;
    if (report_ticks_) begins.remaining = counter_remaining(t);
    pause(ReplayStop::StretchBegins, rt, begins);
    inside_->tid = rt.recorded();
    inside_->entered_handler = entered_handler;
    return std::nullopt;
  }
  t.resume(how, rt.pending_sig);
  rt.pending_sig = 0;
  std::optional<WaitStatus> stop = wait_filtered(rt, how);
  // As in the recording: a step that took a counted branch lands where the
  // branch goes (past_counter_stub).
  if (tracer_step && stop && stop->stop_sig() == SIGTRAP) step_past_counter_stub(t);
  return stop;
}

Error ReplaySession::divergence(trace::Frame::Reader f, const std::string& what) {
  return make_error(ErrorKind::Divergence, "replay diverged at event " + std::to_string(f.getEvent()) + ", tid " +
                    std::to_string(f.getTid()) + ": " + what);
}

Status ReplaySession::check_regs(trace::Frame::Reader f, Task& t, const char* what, const Registers& expected) {
  Registers now = t.regs();
  std::string d = now.diff(expected);
  if (d.empty()) return {};
  // The resume flag in a stop between two iterations of a repeated string
  // instruction tells whether a fault was taken since the instruction
  // began: the processor sets it in the flags it saves for a fault, and
  // (on AMD) it is still set at the step's trap after the iteration. Which
  // pages fault is no part of the program's execution (write tracking
  // protects pages the recording wrote freely; a page present on one road
  // is absent on the other), so the task takes the recording's flag.
  Registers as_recorded = now;
  as_recorded.raw().eflags ^= kEflagsResume;
  if (as_recorded.diff(expected).empty() && rep_string_at(t, now.ip())) {
    RR_LOG("event %" PRIu64 ": the resume flag inside a repeated string instruction taken as recorded", (uint64_t)f.getEvent());
    t.set_regs(as_recorded);
    return {};
  }
  return divergence(f, std::string("registers differ ") + what + " (replay != recording): " + d);
}

Status ReplaySession::check_fpu_after(trace::Frame::Reader f) {
  uint64_t recorded = f.getFpuDigest();
  if (recorded == 0 || !fpu_comparable_) return {};
  ReplayTask* rt = find_task(RecordedTid{f.getTid()});
  // A task that is gone, or not stopped, has no state left to compare.
  std::optional<std::string> area = rt ? rt->task->try_xsave() : std::nullopt;
  if (!area) return {};
  uint64_t now = fpu_digest(*area);
  if (now == recorded) return {};
  char what[128];
  snprintf(what, sizeof(what), "FPU state differs (replay != recording): digest %016llx, recorded %016llx",
           (unsigned long long)now, (unsigned long long)recorded);
  return divergence(f, what);
}

Status ReplaySession::check_restored_fpu(const std::string& checkpoint) {
  StreamPos after = next_frame_pos_;
  Result<std::optional<FrameData>> before = reader_->frame_before(after);
  lookahead_.reset();
  RR_TRY(reader_->seek(after));
  std::string event = std::to_string(current_event_);
  // Where the trace cannot be read before the position, the position is
  // suspect first; a replay from an earlier point finds a damaged trace.
  if (!before.ok())
    return make_error(ErrorKind::CorruptCheckpoint, checkpoint + " is corrupt (the frame of its event " + event +
                                                        " cannot be read: " + before.error().message + ")");
  if (!before.value() || before.value()->frame().getEvent() != current_event_)
    return make_error(ErrorKind::CorruptCheckpoint, checkpoint + " is corrupt (its events position does not follow its event " +
                                                        event + ")");
  trace::Frame::Reader f = before.value()->frame();
  uint64_t recorded = fpu_comparable_ ? f.getFpuDigest() : 0;
  ReplayTask* rt = recorded ? find_task(RecordedTid{f.getTid()}) : nullptr;
  std::optional<std::string> area = rt ? rt->task->try_xsave() : std::nullopt;
  if (!area || fpu_digest(*area) == recorded) return {};
  return make_error(ErrorKind::CorruptCheckpoint, checkpoint + " is untrustworthy: at event " + event + ", tid " +
                                                      std::to_string(f.getTid()) +
                                                      ", its FPU state differs from the recording's");
}

// si_code of a seccomp filter's SIGSYS (<asm-generic/siginfo.h>, which
// clashes with glibc's <signal.h>).
constexpr int kSysSeccomp = 1;

// A signal the kernel forces on a thread (a seccomp filter's SIGSYS) is
// unblocked, and its action reset to the default when it was blocked or
// ignored, before it is delivered. In the recording the kernel did; replay,
// where no filter runs, sends it with tkill, so it does the same first.
void ReplaySession::force_as_kernel(Task& t, int sig, bool always_default) {
  uint64_t bit = 1ull << (sig - 1);
  uint64_t mask = t.blocked_signals();
  bool blocked = mask & bit;
  bool ignored = proc_sigset(t.tid(), "SigIgn") & bit;
  if (blocked || ignored || always_default) {
    RemoteSyscalls rs(t);
    TraceeSigaction act = {(uint64_t)SIG_DFL, 0, 0, 0};
    RemotePtr<TraceeSigaction> p = rs.scratch_val(act);
    rs.syscall(SYS_rt_sigaction, {(uint64_t)sig, p.as_int(), 0, 8});
  }
  if (blocked) {
    t.set_blocked_signals(mask & ~bit);
  }
}

Status ReplaySession::apply_signal(trace::Frame::Reader f, trace::SignalEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  int sig = ev.getSigno();
  if (rt.where != ReplayTask::Where::AtEvent) return make_error("trace is corrupt: a signal inside a syscall");
  if (!ev.getSynchronous() && rt.queued_sig != sig) {
    std::string info = data_string(ev.getSiginfo());
    siginfo_t si = {};
    if (info.size() == sizeof(si)) memcpy(&si, info.data(), sizeof(si));
    if (sig == SIGSYS && si.si_code == kSysSeccomp) force_as_kernel(t, sig);
    syscall(SYS_tkill, t.tid(), sig);
    rt.queued_sig = sig;
  }
  std::optional<WaitStatus> stopped = resume_and_wait(rt, ResumeHow::Sysemu);
  if (!stopped) return {};  // stopped inside for a debugger
  WaitStatus st = *stopped;
  ++counters_.signals;
  rt.queued_sig = 0;
  if (st.stop_sig() != sig)
    return divergence(f, std::string("expected signal ") + strsignal(sig) + ", got " + describe_stop(st));
  Registers recorded = regs_from_capnp(ev.getRegs());
  RR_TRY(check_regs(f, t, (std::string("at delivery of ") + strsignal(sig)).c_str(), recorded));
  if (!ev.getSynchronous()) {
    std::string info = data_string(ev.getSiginfo());
    if (info.size() != sizeof(siginfo_t)) return make_error("trace is corrupt: bad siginfo size");
    siginfo_t si;
    memcpy(&si, info.data(), sizeof(si));
    t.set_siginfo(si);
  }
  // A stop signal stopped the process in the recording (a group stop, no
  // event) until a SIGCONT: here the task waits for its next event anyway,
  // and a real stop would hold it where the recording ran on.
  rt.pending_sig = ev.getDeliver() && !delivery_changes_nothing(t, sig) ? sig : 0;
  // Only a debugger asks (and the fatal test reads /proc).
  if (debugger_stops_) signal_stop_ = SignalStop{rt.recorded(), sig, rt.pending_sig && signal_is_fatal(t, sig)};
  rt.pending_frame = FrameKernelState{ev.getFrameErr(), ev.getFrameTrapno(), ev.getFrameCr2(), data_string(ev.getFrameFpu())};
  return {};
}

Status ReplaySession::apply_rdtsc(trace::Frame::Reader f, trace::RdtscEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  if (rt.where != ReplayTask::Where::AtEvent) return make_error("trace is corrupt: an rdtsc inside a syscall");
  std::optional<WaitStatus> stopped = resume_and_wait(rt, ResumeHow::Sysemu);
  if (!stopped) return {};  // stopped inside for a debugger
  WaitStatus st = *stopped;
  ++counters_.rdtsc;
  int sig = ev.getRandom() ? SIGILL : SIGSEGV;
  if (st.stop_sig() != sig)
    return divergence(f, std::string(ev.getRandom() ? "expected an rdrand or rdseed trap" : "expected an rdtsc trap") +
                             ", got " + describe_stop(st));
  RR_TRY(check_regs(f, t, ev.getRandom() ? "at rdrand" : "at rdtsc", regs_from_capnp(ev.getRegs())));
  // The trap's forced signal changed here what it changed in the recording.
  if (ev.getSegvReblocked()) t.set_blocked_signals(t.blocked_signals() | (1ull << (sig - 1)));
  if (ev.getSegvHandler()) restore_segv_handler(t, sig, ev.getSegvHandler());
  Registers r = t.regs();
  if (ev.getRandom()) {
    uint8_t bytes[8] = {};
    std::optional<RandomInsn> insn;
    if (t.read_mem(r.ip(), bytes, sizeof(bytes))) insn = decode_random_trap(bytes, sizeof(bytes));
    if (!insn) return divergence(f, "the trap of an rdrand or rdseed is at code that is not one");
    apply_random(r, *insn, ev.getTsc());
    t.set_regs(r);
    return {};
  }
  user_regs_struct& raw = r.raw();
  raw.rax = ev.getTsc() & 0xffffffffu;
  raw.rdx = ev.getTsc() >> 32;
  if (ev.getRdtscp()) raw.rcx = ev.getAux();
  raw.rip += ev.getRdtscp() ? 3 : 2;
  t.set_regs(r);
  return {};
}

// The progress counter's trap: armed at the thread's previous event (the
// point the recorder armed it at), it fires at the recorded count. Anything
// else that stops the thread first, or a trap at other registers, is a
// divergence.
Status ReplaySession::apply_progress(trace::Frame::Reader f, trace::ProgressEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  if (rt.where != ReplayTask::Where::AtEvent) return make_error("trace is corrupt: a progress trap inside a syscall");
  if (ev.getSpin() || ev.getPoll()) return apply_site_trap(f, ev, rt);
  if (ev.getTicks() == 0) return make_error(ErrorKind::Corrupt, "trace is corrupt: a progress trap after no branch");
  // A stretch a debugger stopped inside goes on with the count it has.
  bool resumed_inside = inside_ && inside_->tid.value;
  if (!resumed_inside && !arm_counter(t, ev.getTicks()))
    return make_error(ErrorKind::Corrupt, "trace is corrupt: a progress trap in a process without the counter");
  std::optional<WaitStatus> stopped = resume_and_wait(rt, ResumeHow::Sysemu);
  if (!stopped) return {};  // stopped inside for a debugger
  WaitStatus st = *stopped;
  std::string expected = "the progress counter's trap after " + std::to_string(ev.getTicks()) + " counted branches";
  if (st.stop_sig() != SIGTRAP || !at_counter_trap(t, t.regs()))
    return divergence(f, "expected " + expected + ", got " + describe_stop(st));
  return check_regs(f, t, ("at " + expected).c_str(), regs_from_capnp(ev.getRegs()));
}

// A spin site's trap (the thread's first turn of the loop, where the
// recorder parked it), or a poll site's taken branch (the first the thread
// reaches: the untaken ones are made on the way, wait_filtered). The counter
// is not armed (no count is recorded). The thread stands on the spin site's
// jump, or at the poll loop's top with the branch made.
Status ReplaySession::apply_site_trap(trace::Frame::Reader f, trace::ProgressEvent::Reader ev, ReplayTask& rt) {
  Task& t = *rt.task;
  std::optional<WaitStatus> stopped = resume_and_wait(rt, ResumeHow::Sysemu);
  if (!stopped) return {};  // stopped inside for a debugger
  WaitStatus st = *stopped;
  bool poll = ev.getPoll();
  Registers regs = t.regs();
  std::optional<Registers> after;
  std::optional<PollSite> site = st.stop_sig() == SIGTRAP && poll ? poll_site_at(t, regs) : std::nullopt;
  if (site) {
    bool taken = false;
    after = take_poll_branch(*site, regs, &taken);
  } else if (st.stop_sig() == SIGTRAP && !poll && at_spin_site(t, regs)) {
    after = regs;
    after->set_ip(regs.ip() - 1);
  }
  if (!after)
    return divergence(f, std::string("expected ") + (poll ? "the taken branch of the poll site" : "the trap of the spin site") +
                             " at " + hex(regs_from_capnp(ev.getRegs()).ip().as_int()) + ", got " + describe_stop(st));
  t.set_regs(*after);
  return check_regs(f, t, poll ? "at a poll site" : "at a spin site", regs_from_capnp(ev.getRegs()));
}

}  // namespace rr
