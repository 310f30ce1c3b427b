// RecordSession, the software progress counter (docs/progress-counter.md):
// rewriting the branches of every image and shared library, arming the counter at the
// start of each stretch of user code, and the trap at the end of a
// timeslice, where the recorder switches threads or delivers a held signal
// and writes a ProgressEvent that replay runs to.
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <csignal>

#include "core/progress_counter.h"
#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "record/record_session.h"
#include "trace/fpu_digest.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// The syscall buffer's library is never rewritten: the recorder takes its
// records at every event, and a trap must not stop a thread halfway
// through writing one.
bool is_preload_library(const std::string& name) {
  const std::string lib = "/librrpreload.so";
  return name.size() >= lib.size() && name.compare(name.size() - lib.size(), lib.size(), lib) == 0;
}

void log_setup(const CounterSetup& setup, const std::string& name) {
  const RewritePlan& plan = *setup.plan;
  size_t stub_bytes = plan.moved ? plan.blocks_at : plan.stubs.size();
  size_t stubs = plan.lean_stubs + (stub_bytes - plan.lean_stubs * kLeanStubSize) / kStubSize;
  RR_LOG("progress counter: %zu branches counted (%zu stubs, %zu of them lean, %zu through moved blocks), %zu left "
         "uncounted in [0x%llx, 0x%llx) (%s)",
         plan.counted, stubs, plan.lean_stubs, plan.moved, plan.uncovered,
         (unsigned long long)setup.text_start,
         (unsigned long long)setup.text_end, name.c_str());
}

}  // namespace

// After each execve: the counter page, then the executable's code, then the
// other code the kernel mapped (the dynamic loader), each planned once the
// stubs of the one before are in place (they take room the next one's
// stubs may not).
Status RecordSession::install_progress_counter(RecordTask& rt, trace::ExecImage::Builder out) {
  Task& t = *rt.task;
  std::string proc = "/proc/" + std::to_string(t.tid());
  struct stat exe;
  if (stat((proc + "/exe").c_str(), &exe) != 0)
    return make_error("the progress counter cannot read " + proc + "/exe: " + errno_text());
  RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
  // A failure is an error but for the task's end (after_calls_inside).
  auto failed = [&](Status s) -> Status {
    if (!after_calls_inside(rt, rs)) return {};
    return s;
  };
  if (Status s = map_counter_page(rs); !s.ok()) return failed(std::move(s));
  std::optional<CounterSetup> main;
  std::vector<CounterSetup> others;
  std::vector<MapEntry> initial = read_maps(t.tid());
  for (bool exe_pass : {true, false})
    for (const MapEntry& m : initial) {
      bool is_exe = m.inode == exe.st_ino && m.dev == exe.st_dev;
      if (is_exe != exe_pass || !rewritable_code(m) || is_preload_library(m.name)) continue;
      if (is_exe && main) continue;
      std::string path = is_exe ? proc + "/exe" : map_file_path(proc, m);
      std::optional<CounterSetup> setup = plan_mapped_code(t, path, m, read_maps(t.tid()), plans_);
      if (!setup) continue;
      attach_code_image(*setup, path, m);
      if (Status s = install_rewrite(t, rs, *setup); !s.ok()) return failed(std::move(s));
      log_setup(*setup, m.name);
      if (is_exe)
        main = std::move(setup);
      else
        others.push_back(std::move(*setup));
    }
  if (!after_calls_inside(rt, rs)) return {};
  RR_TRY(writer_->write_counter_setup(main.value_or(CounterSetup{}), out.initProgressCounter()));
  auto list = out.initCodeCounters(others.size());
  for (size_t i = 0; i < others.size(); ++i) RR_TRY(writer_->write_counter_setup(others[i], list[i]));
  return {};
}

MapEntry file_mapping_made_by(const SyscallArgs& call, const std::string& name) {
  MapEntry m;
  m.start = RemotePtr<>(call.ret);
  m.end = RemotePtr<>(call.ret + page_ceil(call.arg[1]));
  m.prot = (int)call.arg[2];
  m.shared = (call.arg[3] & MAP_TYPE) != MAP_PRIVATE;
  m.offset = call.arg[5];
  m.inode = 1;  // a file
  m.name = name;
  return m;
}

// At the exit of an mmap that made executable code of a file (a shared
// library's text, mapped by the loader): its .text is rewritten now,
// before any of it runs.
Status RecordSession::rewrite_mapped_code(RecordTask& rt, const SyscallArgs& call, const std::string& fd_path,
                                          const std::string& name, trace::SyscallEvent::Builder sc) {
  MapEntry m = file_mapping_made_by(call, name);
  if (!rewritable_code(m) || is_preload_library(name)) return {};
  Task& t = *rt.task;
  std::optional<CounterSetup> setup = plan_mapped_code(t, fd_path, m, read_maps(t.tid()), plans_);
  if (!setup) return {};
  attach_code_image(*setup, fd_path, m);
  {
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    Status s = install_rewrite(t, rs, *setup);
    // Killed meanwhile: its end comes next, and the mmap is no event.
    if (!after_calls_inside(rt, rs)) return {};
    RR_TRY(std::move(s));
  }
  log_setup(*setup, name);
  return writer_->write_counter_setup(*setup, sc.initCounter());
}

void RecordSession::attach_code_image(CounterSetup& setup, const std::string& file_path, const MapEntry& m) {
  if (!setup.plan || !setup.file || images_.dir().empty()) return;
  setup.stubs_image = images_.stubs_image_for(*setup.plan, setup.file->name);
  // Code that is also writable: at an execve the kernel zeroes the end of
  // such a segment's last page (its .bss), which no file holds.
  if (!setup.settled || m.shared || (m.prot & PROT_WRITE)) return;
  struct stat orig;
  if (stat(file_path.c_str(), &orig) != 0) return;
  std::pair<uint64_t, uint64_t> orig_id{(uint64_t)orig.st_dev, (uint64_t)orig.st_ino};
  // The original's rdrand sites, while its path still opens it.
  random_sites_of(file_path, orig_id, orig);
  setup.image = images_.image_for(file_path, *setup.settled, m, *setup.plan, setup.file->name);
  // The image's name stands for the file it was made from (its key holds
  // that file's identity).
  if (setup.image) image_origin_[setup.image->name] = orig_id;
}

// A stretch starts at the first resume after one of the thread's events;
// replay arms the counter at the same point (the thread's previous event).
// Resumes inside a stretch (after a signal held for later) keep the count.
void RecordSession::arm_for_stretch(RecordTask& rt) {
  if (!progress_counter_ || rt.in_syscall || rt.counter_armed_at == next_event_) return;
  rt.counter_armed_at = next_event_;
  rt.ticks_before = 0;
  rt.nudged = false;
  uint64_t slice = next_timeslice();
  rt.ticks_armed = arm_counter_tracked(rt, slice) ? slice : 0;
}

trace::Frame::Builder RecordSession::new_frame(capnp::MessageBuilder& msg, pid_t tid) {
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(tid);
  return frame;
}

Status RecordSession::write_progress_event(RecordTask& rt, const Registers& regs, uint64_t ticks, ProgressKind kind) {
  capnp::MallocMessageBuilder msg;
  trace::Frame::Builder frame = new_frame(msg, rt.tid());
  auto ev = frame.initProgress();
  ev.setTicks(ticks);
  ev.setSpin(kind == ProgressKind::Spin);
  ev.setPoll(kind == ProgressKind::Poll);
  regs_to_capnp(regs, ev.initRegs());
  frame.setFpuDigest(fpu_digest(*rt.task));
  rt.last_event_regs = regs;
  return finish_frame(msg);
}

Status RecordSession::on_counter_trap(RecordTask& rt, const Registers& regs) {
  uint64_t ticks = rt.ticks_before + rt.ticks_armed;
  rt.nudged = false;
  if (!others_ready(rt) && rt.held.empty()) {
    // Nobody waits for it: the stretch goes on, and counts on.
    rt.ticks_before = ticks;
    uint64_t slice = next_timeslice();
    rt.ticks_armed = arm_counter_tracked(rt, slice) ? slice : 0;
    return resume_running(rt);
  }
  // Replay armed it for this count, and both slots are 0 here.
  *rt.counter_delta = 0;
  RR_TRY(write_progress_event(rt, regs, ticks, ProgressKind::Trap));
  // A held signal stops the thread again before its next instruction, where
  // on_signal records its delivery at this point.
  inject_held_signals(rt);
  if (others_ready(rt)) {
    rt.state = RecordTask::State::Ready;
    running_ = nullptr;
    return {};
  }
  return resume_running(rt);
}

// Chaos mode, after rr's: a fair scheduler with long timeslices makes the
// same interleaving on every run, and a race that needs a thread preempted
// inside a short window never shows. Random timeslice lengths put the
// preemption anywhere; random priorities let one thread run several turns in
// a row, or starve for a while. Every draw comes from the recorded seed, and
// replay needs none of them: the switches are events of the trace.
uint64_t RecordSession::next_timeslice() {
  if (!chaos_) return timeslice_;
  int bits = 0;
  while (bits < 63 && (2ull << bits) <= timeslice_) ++bits;
  uint64_t ceiling = 1ull << std::uniform_int_distribution<int>(0, bits)(chaos_rng_);
  return std::min(timeslice_, std::uniform_int_distribution<uint64_t>(1, ceiling)(chaos_rng_));
}

RecordTask* RecordSession::pick_by_chaos() {
  constexpr uint64_t kPicksPerDraw = 16;
  if (chaos_picks_++ % kPicksPerDraw == 0)
    for (auto& [tid, t] : tasks_) t->chaos_priority = chaos_rng_();
  std::vector<RecordTask*> ready;
  for (auto& [tid, t] : tasks_)
    if (t->state == RecordTask::State::Ready || t->state == RecordTask::State::Unprocessed) ready.push_back(t.get());
  if (ready.empty()) return nullptr;
  // Mostly the highest priority; at times any ready thread, so that a
  // thread spinning for one of lower priority does not wait for the next
  // draw.
  if (std::uniform_int_distribution<int>(0, 3)(chaos_rng_) == 0)
    return ready[std::uniform_int_distribution<size_t>(0, ready.size() - 1)(chaos_rng_)];
  return *std::max_element(ready.begin(), ready.end(),
                           [](const RecordTask* a, const RecordTask* b) { return a->chaos_priority < b->chaos_priority; });
}

// A spin site traps at the first turn of its loop; every later turn would
// pass the same point with the same registers and memory (the loop changes
// nothing, and only this thread runs), so that point stands for all of them:
// it is an event, and the thread stays there until a signal or its death
// reaches it. Replay runs the thread to the same trap (the first turn).
// Parked, the thread waits in a pause() made at the rr page's syscall
// instruction, where the kernel wakes it for a signal as it would the loop
// (a ptrace stop would hide the signal until the recorder looked).
Status RecordSession::on_spin_trap(RecordTask& rt, Registers regs) {
  Task& t = *rt.task;
  regs.set_ip(regs.ip() - 1);
  t.set_regs(regs);
  RR_TRY(write_progress_event(rt, regs, 0, ProgressKind::Spin));
  RR_LOG("task %d: parked at the spin site 0x%llx", t.tid(), (unsigned long long)regs.ip().as_int());
  if (!rt.held.empty()) {
    // Delivered before the jump runs again.
    inject_held_signals(rt);
    return resume_running(rt);
  }
  park(rt, regs);
  return {};
}

void RecordSession::park(RecordTask& rt, const Registers& regs) {
  rt.spin_regs = regs;
  Registers pause = regs;
  pause.set_ip(RemotePtr<>(kRrSyscallInsn));
  pause.raw().rax = SYS_pause;
  rt.task->set_regs(pause);
  rt.task->try_resume(ResumeHow::Cont);
  rt.state = RecordTask::State::Spinning;
  if (running_ == &rt) running_ = nullptr;
}

// A poll site is a loop that only reads (`while (!flag);` at -O0) whose
// branch the counter could not reach: its branch is an int3, and the
// recorder makes the branch itself. Untaken, the thread goes on. Taken, it
// would turn with the same registers until the memory it reads changes, which
// only another thread, a signal handler or its death can do while it is the
// one thread running: the taken branch is an event, at the loop's top
// (replay runs the thread to its first taken poll site), after which the
// thread yields to a ready one, takes a held signal, or parks until another
// thread has had an event (wake_pollers) or a signal comes.
Status RecordSession::on_poll_trap(RecordTask& rt, const PollSite& site, const Registers& at_trap) {
  Task& t = *rt.task;
  bool taken = false;
  Registers regs = take_poll_branch(site, at_trap, &taken);
  t.set_regs(regs);
  if (!taken) return resume_running(rt);
  // At the loop's top: its next turn reads the memory again.
  RR_TRY(write_progress_event(rt, regs, 0, ProgressKind::Poll));
  if (!rt.held.empty()) {
    inject_held_signals(rt);
    return resume_running(rt);
  }
  if (others_ready(rt)) {
    rt.state = RecordTask::State::Ready;
    running_ = nullptr;
    return {};
  }
  RR_LOG("task %d: parked at the poll site 0x%llx", t.tid(), (unsigned long long)site.addr);
  park(rt, regs);
  rt.poll_parked = true;
  rt.parked_at_change = changes_;
  return {};
}

void RecordSession::wake_pollers() {
  for (auto& [tid, t] : tasks_) {
    if (t->state != RecordTask::State::Spinning || !t->poll_parked || t->poll_kicked ||
        t->parked_at_change == changes_)
      continue;
    t->poll_kicked = true;
    RR_LOG("task %d: woken at its poll site", t->tid());
    syscall(SYS_tgkill, t->live_tgid(), t->tid(), SIGSTOP);
  }
}

bool RecordSession::our_sigstop(RecordTask& rt, int sig, bool kicked) {
  if (sig != SIGSTOP || !kicked) return false;
  std::optional<siginfo_t> si = rt.task->try_siginfo();
  return si && si->si_code == SI_TKILL && si->si_pid == getpid();
}

bool RecordSession::our_wakeup(RecordTask& rt, int sig) {
  if (!our_sigstop(rt, sig, rt.poll_kicked)) return false;
  rt.poll_kicked = false;
  return true;
}

// A thread that has run long without a counted branch while another waits
// (check_long_run) may be in work that takes no branch for a long time: one
// `rep movsb` of a large copy, a `rep stosb` of a large fill. Stopped here
// by rr's SIGSTOP, it is asked to trap at its very next counted branch: the
// count it has left becomes 1, and the trap's tick count is what it counted
// since its stretch began, plus that one (exact: the thread is stopped, and
// the count is read, not guessed). Replay is unchanged: it runs to the
// recorded count as to any other trap. Not while a full stub holds the
// count it read in rcx (it would write it back over the 1): the next look
// sends another SIGSTOP.
Status RecordSession::on_nudge(RecordTask& rt) {
  rt.nudge_kicked = false;
  Task& t = *rt.task;
  if (!rt.in_syscall && rt.ticks_armed && !counter_update_in_flight(t, t.regs().ip().as_int())) {
    std::optional<uint64_t> left = counter_remaining(t);
    if (left && *left > 1 && *left <= rt.ticks_armed && arm_counter_tracked(rt, 1)) {
      rt.ticks_armed -= *left - 1;
      rt.nudged = true;
      RR_LOG("task %d: asked to trap at its next counted branch (at 0x%llx, %llu ticks into its stretch)", t.tid(),
             (unsigned long long)t.regs().ip().as_int(), (unsigned long long)(rt.ticks_before + rt.ticks_armed - 1));
    }
  }
  return resume_running(rt);
}

bool RecordSession::still_parked(RecordTask& rt, const WaitStatus& st) {
  if (st.ended()) {
    rt.spin_regs.reset();
    rt.poll_parked = false;
    return false;
  }
  if (our_wakeup(rt, st.stop_sig())) {
    // Woken to look at its loop again: back on the branch, with no event.
    rt.task->set_regs(*rt.spin_regs);
    rt.spin_regs.reset();
    rt.poll_parked = false;
    rt.state = RecordTask::State::Ready;
    if (running_ == &rt) running_ = nullptr;
    return true;
  }
  if (st.ptrace_event() == PTRACE_EVENT_SECCOMP) {
    // The syscall buffer's filter stopped our pause(): it goes in.
    rt.task->try_resume(ResumeHow::Cont);
    rt.state = RecordTask::State::Spinning;
    if (running_ == &rt) running_ = nullptr;
    return true;
  }
  // A signal's delivery, a group stop or its end: back at the spin site
  // (orig_rax -1 as at the trap: pause() is not restarted), where the stop
  // is handled as any.
  rt.task->set_regs(*rt.spin_regs);
  rt.spin_regs.reset();
  rt.poll_parked = false;
  return false;
}

}  // namespace rr
