// RecordSession, the events of the running thread: syscall entries and
// exits, signals, rdtsc traps and the image after an execve.
#include <cerrno>
#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>
#include <xxhash.h>

#include "core/pid_namespace.h"
#include "core/signal_delivery.h"
#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "core/rr_page.h"
#include "core/signal_delivery.h"
#include "core/syscall_restart.h"
#include "record/record_session.h"
#include "core/task_state.h"
#include "trace/fpu_digest.h"
#include "record/seccomp_prefix.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "core/tracee_setup.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// A thread that has run this many events in a row yields at its next syscall
// exit when another thread is ready.
constexpr int kSliceEvents = 32;

bool is_synchronous(int sig, const siginfo_t& si) {
  switch (sig) {
    case SIGSEGV:
    case SIGBUS:
    case SIGILL:
    case SIGFPE:
    case SIGTRAP:
      return si.si_code > 0;
  }
  return false;
}


// Hides the vDSO from the program: its AT_SYSINFO_EHDR auxv entry becomes
// AT_IGNORE, so libc makes real (recorded) syscalls for time.
void hide_vdso(Task& t) {
  RemotePtr<uint64_t> sp = t.regs().sp().cast<uint64_t>();
  uint64_t argc = t.read_val(sp);
  RemotePtr<uint64_t> envp = sp + (argc + 2);  // skip argc, argv[], NULL
  while (t.read_val(envp) != 0) envp += 1;
  for (RemotePtr<Elf64_auxv_t> entry = (envp + 1).cast<Elf64_auxv_t>();; entry += 1) {
    RemotePtr<uint64_t> type_at = entry.field(&Elf64_auxv_t::a_type);
    uint64_t type = t.read_val(type_at);
    if (type == AT_NULL) break;
    if (type == AT_SYSINFO_EHDR) t.write_val(type_at, AT_IGNORE);
  }
}

// The auxv as /proc/PID/auxv shows it, with the same change hide_vdso made.
std::string patched_auxv(const std::string& auxv) {
  std::string out = auxv;
  for (size_t i = 0; i + 16 <= out.size(); i += 16) {
    uint64_t type;
    memcpy(&type, out.data() + i, 8);
    if (type == AT_SYSINFO_EHDR) {
      type = AT_IGNORE;
      memcpy(out.data() + i, &type, 8);
    }
  }
  return out;
}

}  // namespace

// At the exit of a successful execve: map the rr page, hide the vDSO and
// capture the new image. A SIGKILL that ends the task meanwhile (its calls
// inside it meet its end) leaves `rt.died_in_calls` set and the image
// unfinished: the caller drops the event.
void RecordSession::on_exec_done(RecordTask& rt, trace::ExecImage::Builder out) {
  Task& t = *rt.task;
  rt.tracer_debug = 0;  // the kernel clears them
  {
    // The one syscall made from the program's own code: a seccomp filter
    // kept across the exec judges it as one of the program's (it lets the
    // rr page's syscalls through), and a filter that forbids executable
    // mappings would stop the new program's loader as well. The code goes
    // in through /proc/PID/mem, which writes to read-only pages.
    RemoteSyscalls rs(t, t.regs().ip(), RemoteSyscalls::MayDie{});
    rs.checked("mapping the rr page", SYS_mmap,
               {kRrPageAddr, kPageSize, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                (uint64_t)-1, 0});
    if (!after_calls_inside(rt, rs)) return;
    t.write_mem(RemotePtr<>(kRrPageAddr), kRrPageCode, sizeof(kRrPageCode));
  }
  {
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    rs.checked("mapping the rr scratch page", SYS_mmap,
               {kRrScratch, kRrScratchSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                (uint64_t)-1, 0});
    if (!after_calls_inside(rt, rs)) return;
  }
  map_syscall_buffer(rt);
  if (rt.died_in_calls) return;
  preload_behind_sanitizer(rt);
  hide_vdso(t);
  ProcessImage img;
  {
    RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
    img = capture_image(
        t, rs, [this](const std::string& path, const std::string& hint) { return files_.store(path, hint); },
        writer_->dir());
    if (!after_calls_inside(rt, rs)) return;
  }
  img.mm.auxv = patched_auxv(img.mm.auxv);
  img.regs = t.regs();
  image_to_capnp(img, out);
  // The command line, for `rr ps`.
  std::vector<std::string> args;
  if (img.mm.arg_end > img.mm.arg_start && img.mm.arg_end - img.mm.arg_start < (1u << 20)) {
    std::string raw(img.mm.arg_end - img.mm.arg_start, '\0');
    if (t.read_mem(img.mm.arg_start, raw.data(), raw.size())) {
      for (size_t pos = 0; pos < raw.size();) {
        size_t nul = raw.find('\0', pos);
        if (nul == std::string::npos) nul = raw.size();
        args.push_back(raw.substr(pos, nul - pos));
        pos = nul + 1;
      }
    }
  }
  auto argv = out.initArgv(args.size());
  for (size_t i = 0; i < args.size(); ++i) argv.set(i, args[i]);
  rt.last_event_regs = img.regs;
}

Status RecordSession::on_syscall_entry(RecordTask& rt) {
  Task& t = *rt.task;
  if (echo_writer_ && echo_writer_ != &rt && writes_to_echo(rt, t.regs())) {
    // Not one step of the entry is taken: when the gate opens, the stop is
    // handled again from the start.
    rt.state = RecordTask::State::EchoWait;
    if (running_ == &rt) running_ = nullptr;
    return {};
  }
  {
    RR_ASSIGN_OR_RETURN(bool again, reap_copies_before_wait(rt));
    if (again) return {};
  }
  if (must_hold_wait(rt)) {
    rt.state = RecordTask::State::TracerWaiting;
    if (running_ == &rt) running_ = nullptr;
    return {};
  }
  rt.entry_regs = t.regs();
  std::optional<std::string> area = t.try_xsave();
  rt.entry_xsave = area ? std::move(*area) : std::string();
  rt.entry_fpu = area ? fpu_digest(rt.entry_xsave) : 0;
  note_entry_for_copies(rt);
  // A copy of this process (the copying writer's) goes before an exec:
  // reaped after it, the kernel would tell the new program with a SIGCHLD.
  if (rt.entry_regs.syscallno() == SYS_execve || rt.entry_regs.syscallno() == SYS_execveat)
    for (const ProcessCopy& c : copies_)
      if (c.of == rt.tgid && !c.ours) {
        end_copy_job(true, false);
        break;
      }
  RR_TRY(check_restart(rt, rt.entry_regs, true));
  RR_TRY(sync_seccomp_events(rt));
  rt.exec_seen = false;
  rt.in_syscall = true;
  // What the syscall buffer holds was made before this call (an execve
  // would replace it, a fork copy it).
  RR_TRY(take_buffered_records(rt));
  // Shown to its tracer first (PTRACE_SYSCALL): the entry is an event, and
  // the rest waits until the tracer resumes it, maybe with other registers.
  bool shown = rt.traced.entry_shown;
  rt.entry_recorded = shown;
  if (shown && rt.traced.skip_entry) {
    // A tracer's PTRACE_SYSEMU stopped it here: the kernel runs nothing
    // (an invalid number leaves rax as the tracer set it).
    rt.traced.skip_entry = false;
    rt.skipped_by_tracer = true;
    Registers r = rt.entry_regs;
    r.set_syscallno(-1);
    t.set_regs(r);
    return resume_running(rt);
  }
  if (rt.traced.by.value && (rt.traced.syscalls || rt.traced.sysemu) && !shown) {
    rt.traced.skip_entry = rt.traced.sysemu;
    rt.new_child = {};
    rt.new_child_ns_tids.clear();
    RR_TRY(record_entry(rt));
    if (echo_writer_ == &rt) echo_writer_ = nullptr;
    bool good = rt.traced.options & PTRACE_O_TRACESYSGOOD;
    int code = good ? (SIGTRAP | 0x80) : SIGTRAP;
    return enter_tracer_stop(rt, RecordTask::Traced::Stop::SyscallEntry, (code << 8) | 0x7f,
                             siginfo_for_trap(code, rt));
  }
  if (rt.traced.by.value && (rt.traced.options & PTRACE_O_TRACESECCOMP)) {
    if (rt.traced.seccomp_shown && rt.entry_regs.syscallno() == -1) {
      // The tracer skipped the call at its seccomp stop: nothing runs.
      rt.skipped_by_tracer = true;
      return resume_running(rt);
    }
    if (!rt.traced.seccomp_shown) {
      // The program's filter gives the call to its tracer: the stop comes
      // after any entry stop and before the call (the filters run here,
      // on the same registers the kernel's would see).
      RR_ASSIGN_OR_RETURN(std::optional<uint32_t> data, seccomp_trace_data(rt));
      if (data) {
        rt.traced.seccomp_shown = true;
        rt.new_child = {};
        rt.new_child_ns_tids.clear();
        if (!shown) RR_TRY(record_entry(rt));
        if (echo_writer_ == &rt) echo_writer_ = nullptr;
        rt.traced.event_msg = *data;
        return enter_tracer_stop(rt, RecordTask::Traced::Stop::Event, (PTRACE_EVENT_SECCOMP << 16) | (SIGTRAP << 8) | 0x7f,
                                 siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_SECCOMP << 8), rt));
      }
    }
  }
  rt.new_child = {};
  rt.new_child_ns_tids.clear();
  const Registers& entry_regs_ = rt.entry_regs;
  int64_t nr = entry_regs_.syscallno();
  const SyscallDesc* desc = syscall_desc(nr);
  char where[64];
  snprintf(where, sizeof(where), " (event %llu, tid %d)", (unsigned long long)next_event_, t.tid());
  // `int $0x80` enters the kernel's 32-bit table, where the numbers and
  // arguments mean other calls: read as 64-bit ones they would be recorded
  // wrong. (handle_stop asked ptrace which table this stop is in.)
  if (t.compat_syscall())
    return make_error(ErrorKind::Unsupported, "32-bit syscalls (int $0x80, number " + std::to_string(nr) +
                                                  ") are not supported yet" + where);
  if (!desc) return make_error(ErrorKind::Unsupported, "syscall " + syscall_name(nr) + " (" + std::to_string(nr) + ") is not supported yet" + where);
  if (desc->policy == ReplayPolicy::Unsupported)
    return make_error(ErrorKind::Unsupported, std::string("syscall ") + desc->name + " is not supported yet" + where);
  {
    TaskMemReader reader(t);
    std::string refused = refused_at_entry(syscall_args(nr, entry_regs_), reader, t.tid());
    if (!refused.empty()) return make_error(ErrorKind::Unsupported, refused + where);
  }
  if (nr == SYS_clone && (entry_regs_.arg(0) & CLONE_UNTRACED)) {
    // The child must be traced like any other (LeakSanitizer's helper asks
    // for an untraced one): the kernel runs the call without the flag, and
    // both parent and child get the program's registers back.
    Registers r = entry_regs_;
    r.set_arg(0, r.arg(0) & ~(uint64_t)CLONE_UNTRACED);
    t.set_regs(r);
  }
  if (nr == SYS_ptrace) {
    RR_TRY(emulate_ptrace(rt));
  } else if ((nr == SYS_wait4 || nr == SYS_waitid) && traces_any(rt.tgid)) {
    RR_ASSIGN_OR_RETURN(bool answered, answer_wait(rt));
    (void)answered;
  }
  if (desc->filter_arg) RR_TRY(move_filter(rt, *desc));
  if (desc->cancelled) {
    Registers r = entry_regs_;
    r.set_syscallno(-1);
    t.set_regs(r);
  }
  if (desc->policy == ReplayPolicy::Exit) {
    // The task ends inside this syscall: record it now, the exit event
    // follows. exit_group ends the other threads of the process too.
    if (nr == SYS_exit_group) exiting_groups_.insert(rt.tgid);
    capnp::MallocMessageBuilder msg;
    auto frame = msg.initRoot<trace::Frame>();
    auto sc = start_syscall_frame(rt, frame, t.tid());
    regs_to_capnp(entry_regs_, sc.initExitRegs());
    RR_TRY(finish_frame(msg));
    // That frame is its last syscall event: when the task is slow to reach
    // its exit stop while others wait, the run loop must not write an entry
    // event too (replay would wait for an entry of a task that has ended).
    rt.entry_recorded = true;
    return resume_running(rt);
  }
  if (desc->write.data == WrittenData::FromFd && rt.fds->echo_target((int64_t)entry_regs_.arg(desc->write.fd))) {
    SyscallArgs call = syscall_args(nr, entry_regs_);
    rt.echo.at_entry(t, *desc, call);
  }
  // Signals held since user code ran (one that came during a buffered call)
  // are sent again now, not at the exit: the call may wait for what their
  // handlers do. One that interrupts it is an event at its exit. Not for a
  // tracer or a tracee inside the recording, whose stops the recorder
  // emulates (their signals wait for the exit as before).
  if (!rt.held.empty() && !rt.traced.by.value && !traces_any(rt.tgid)) inject_held_signals(rt);
  RR_TRY(resume_running(rt));
  if (others_ready(rt)) return settle_syscall(rt);
  return {};
}

Status RecordSession::on_syscall_exit(RecordTask& rt) {
  Task& t = *rt.task;
  open_echo_gate(rt);
  rt.echo.restore_registers(t);
  restore_moved_filter(rt);
  const Registers& entry_regs_ = rt.entry_regs;
  int64_t nr = entry_regs_.syscallno();
  if (rt.skipped_by_tracer) return on_skipped_exit(rt);
  if (rt.answered) {
    // The recorder's answer, in place of the invalid number's ENOSYS.
    Registers answered = t.regs();
    answered.set_syscall_result(*rt.answered);
    answered.set_syscallno(nr);
    t.set_regs(answered);
    rt.answered.reset();
  }
  if (const SyscallDesc* cancelled = syscall_desc(nr); cancelled && cancelled->cancelled) {
    // The kernel saw -1 (cancelled at the entry); replay, which emulates
    // the call, keeps its number there, and so does the recording.
    Registers back = t.regs();
    back.set_syscallno(nr);
    t.set_regs(back);
  }
  if (nr == SYS_clone && (entry_regs_.arg(0) & CLONE_UNTRACED)) {
    Registers back = t.regs();
    back.set_arg(0, entry_regs_.arg(0));
    t.set_regs(back);
  }
  answer_desched_request(rt);
  Registers regs = t.regs();
  rt.in_syscall = false;
  rt.traced.entry_shown = false;
  rt.traced.seccomp_shown = false;
  const SyscallDesc* desc = syscall_desc(nr);
  if (!desc) return make_error("syscall exit without a known entry");
  SyscallArgs call = syscall_args(nr, entry_regs_);
  call.ret = regs.syscall_result();
  show_native_prctl(rt, call);
  regs.set_syscall_result(call.ret);
  if (on_copy_point_ && nr == SYS_sigaltstack && call.ret == 0 && call.arg[0]) {
    // A stack set, or SS_DISABLE stored: asked of the kernel (the call's
    // own argument may be its old-stack output too). Only the copying
    // writer needs to know, so only it pays for the call.
    std::optional<stack_t> now;
    bool alive = true;
    {
      RemoteSyscalls rs(t, RemoteSyscalls::MayDie{});
      now = query_altstack(t, rs);
      alive = after_calls_inside(rt, rs);
    }
    // Killed meanwhile: the call is no event (its end comes next).
    if (!alive) return end_after_calls_inside(rt);
    if (now) {
      rt.altstack_disabled = (now->ss_flags & SS_DISABLE) != 0;
      rt.altstack_set = !rt.altstack_disabled;
    }
  }

  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  auto sc = start_syscall_frame(rt, frame, rt.frame_tid().value);
  rt.exec_former_tid = {};
  sc.setResult(call.ret);

  if (desc->policy == ReplayPolicy::Exec && rt.exec_seen && call.ret == 0) {
    // A handler does not survive execve; an ignored signal stays ignored.
    // The process's handlers are its own from here (execve unshares them).
    auto kept = [](const RecordTask::SegvAction& a) {
      return a.handler == reinterpret_cast<uint64_t>(SIG_IGN) ? a : RecordTask::SegvAction{};
    };
    rt.traps = std::make_shared<RecordTask::TrapActions>(
        RecordTask::TrapActions{kept(rt.traps->segv), kept(rt.traps->ill)});
    rt.counter_delta = std::make_shared<uint64_t>(0);  // a new counter page, replay's alike
    rt.known_actions = std::make_shared<RecordTask::ActionsKnown>();
    rt.known_actions->from_exec = true;
    rt.known_layout = std::make_shared<RecordTask::LayoutKnown>();
    on_exec_done(rt, sc.initImage());
    if (progress_counter_ && !rt.died_in_calls) RR_TRY(install_progress_counter(rt, sc.getImage()));
    // Killed as the recorder set the new image up: the exec is not an event
    // (replay kills the task before it, where its end comes next).
    if (rt.died_in_calls) return end_after_calls_inside(rt);
    // The kernel's execve clears a stack the program set and keeps its
    // flags (0); replay, which builds the image itself, drops the stack,
    // which stores SS_DISABLE: kept as replay has it, for checkpoints.
    if (rt.altstack_set) rt.altstack_disabled = true;
    rt.altstack_set = false;
    RR_TRY(install_random_sites(rt, sc.getImage()));
    rt.fds->on_exec();
    regs = t.regs();
  } else {
    std::vector<MemRange> ranges;
    TaskMemReader reader(t);
    std::string why = syscall_outputs(restart_call(rt, call), reader, ranges);
    if (!why.empty()) return make_error(why + " (event " + std::to_string(next_event_) + ")");
    RR_TRY(record_file_changes(rt, *desc, call, sc));
    RR_TRY(record_self_mem_write(rt, *desc, call, ranges));
    uint64_t shm_length = 0;
    if (nr == SYS_shmat && !call.failed()) RR_TRY(record_shm_attach(rt, call, ranges, &shm_length));
    after_syscall_exit(rt, call);
    if (copies_held()) note_known_changes(rt, call, true);
    uint64_t flags = 0;
    if (desc->policy == ReplayPolicy::Clone && clone_flags(call, reader, &flags)) sc.setCloneFlags(flags);
    if (desc->policy == ReplayPolicy::Clone && rt.new_child.value > 0 && !call.failed()) {
      sc.setChildTid(rt.new_child.value);
      auto inner = sc.initChildNsTids(rt.new_child_ns_tids.size());
      for (size_t i = 0; i < rt.new_child_ns_tids.size(); ++i) inner.set(i, rt.new_child_ns_tids[i]);
    }
    auto writes = sc.initWrites(ranges.size());
    for (size_t i = 0; i < ranges.size(); ++i) {
      std::string data(ranges[i].len, '\0');
      if (!t.read_mem(ranges[i].addr, data.data(), data.size())) {
        // The kernel wrote it a moment ago; an unreadable range means the
        // table is wrong about this call.
        return make_error("cannot read what " + syscall_name(nr) + " wrote at " + std::to_string(ranges[i].addr.as_int()));
      }
      writes[i].setAddr(ranges[i].addr.as_int());
      writes[i].setData(capnp_bytes(data));
    }
    if (nr == SYS_mmap && !call.failed() && !(call.arg[3] & MAP_ANONYMOUS)) {
      std::string fd_path = "/proc/" + std::to_string(t.tid()) + "/fd/" + std::to_string((int)call.arg[4]);
      struct stat st;
      bool regular = stat(fd_path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
      auto map = sc.initMap();
      map.setStart(call.ret);
      map.setLength(page_ceil(call.arg[1]));
      map.setProt(call.arg[2]);
      map.setFlags(call.arg[3]);
      map.setOffset(call.arg[5]);
      if (regular) {
        char target[PATH_MAX];
        ssize_t n = readlink(fd_path.c_str(), target, sizeof(target) - 1);
        std::string name = n > 0 ? std::string(target, n) : "mapped-file";
        RR_ASSIGN_OR_RETURN(std::string stored, mapped_file(rt, call, fd_path, st, name));
        map.setFile(stored);
        if (progress_counter_) RR_TRY(rewrite_mapped_code(rt, call, fd_path, name, sc));
        // Killed as the recorder rewrote the code: the mmap is not an event.
        if (rt.died_in_calls) return end_after_calls_inside(rt);
        patch_mapped_random(rt, call, fd_path, sc);
      }
      sc.setHasMap(true);
    }
    if (nr == SYS_shmat && !call.failed()) {
      // Replay maps an object of its own for the segment, at the same place,
      // and fills it with the contents recorded as this call's writes.
      auto map = sc.initMap();
      map.setStart(call.ret);
      map.setLength(shm_length);
      map.setProt(PROT_READ | ((call.arg[2] & SHM_RDONLY) ? 0 : PROT_WRITE) | ((call.arg[2] & SHM_EXEC) ? PROT_EXEC : 0));
      map.setFlags(MAP_SHARED);
      map.setShmId(static_cast<int64_t>(static_cast<int>(call.arg[0])));
      sc.setHasMap(true);
    }
    record_echo(rt, *desc, call, sc);
  }
  FdTable::on_syscall(rt.fds, nr, call.arg, call.ret, [&](RemotePtr<> a, void* b, size_t n) { return t.read_mem(a, b, n); });
  if (desc->unpins && call.ret == 0) {
    pid_t target = static_cast<pid_t>(call.arg[0]) ? static_cast<pid_t>(call.arg[0]) : t.tid();
    if (find_task(RecordedTid{target}) && !pin_to_cpu(bound_cpu_, target))
      return make_error("cannot pin thread " + std::to_string(target) + " back to CPU " + std::to_string(bound_cpu_) +
                        " after its sched_setaffinity: " + errno_text());
  }
  if (!call.failed() && desc->fds.new_fd_in_result(call.arg)) {
    RR_ASSIGN_OR_RETURN(FdTable::Kind kind, classify_and_mark_fd(rt, (int)call.ret));
    if (kind != FdTable::Kind::Other) sc.setNewFdKind((uint8_t)kind);
  }
  if (!call.failed() && (nr == SYS_recvmsg || nr == SYS_recvmmsg)) RR_TRY(classify_received_fds(rt, call));
  if (rt.ptrace_effect.tracee.value) {
    sc.setPtraceTracee(rt.ptrace_effect.tracee.value);
    sc.setTraceeStep(rt.ptrace_effect.step);
    if (rt.ptrace_effect.debug_reg >= 0) {
      sc.setTraceeDebugReg((int8_t)rt.ptrace_effect.debug_reg);
      sc.setTraceeDebugValue(rt.ptrace_effect.debug_value);
    }
    if (rt.ptrace_effect.regs) regs_to_capnp(*rt.ptrace_effect.regs, sc.initTraceeRegs());
    if (!rt.ptrace_effect.xsave.empty()) sc.setTraceeXsave(capnp_bytes(rt.ptrace_effect.xsave));
    auto writes = sc.initTraceeWrites(rt.ptrace_effect.writes.size());
    for (size_t i = 0; i < rt.ptrace_effect.writes.size(); ++i) {
      writes[i].setAddr(rt.ptrace_effect.writes[i].first);
      writes[i].setData(capnp_bytes(rt.ptrace_effect.writes[i].second));
    }
    rt.ptrace_effect = {};
  }
  RR_TRY(end_syscall_exit_frame(rt, msg, frame, sc, regs, restart_undecided(regs)));
  if (rt.traced.by.value && desc->policy == ReplayPolicy::Exec && rt.exec_seen && call.ret == 0) {
    // A traced exec stops at PTRACE_EVENT_EXEC with that option, else the
    // kernel sends the tracee a SIGTRAP.
    if (rt.traced.options & PTRACE_O_TRACEEXEC) {
      // Then the syscall's exit stop, when the tracer resumes it with PTRACE_SYSCALL.
      rt.traced.exit_stop_after_event = true;
      rt.traced.event_msg = pid_for_tracer(rt, rt);
      int status = (PTRACE_EVENT_EXEC << 16) | (SIGTRAP << 8) | 0x7f;
      return enter_tracer_stop(rt, RecordTask::Traced::Stop::Event, status,
                               siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_EXEC << 8), rt));
    }
    siginfo_t si = {};
    si.si_signo = SIGTRAP;
    si.si_code = SI_USER;
    rt.injected[SIGTRAP] = si;
    syscall(SYS_tgkill, rt.live_tgid(), rt.tid(), SIGTRAP);
  }
  RR_ASSIGN_OR_RETURN(bool stopped, syscall_exit_stop(rt));
  if (stopped) return {};
  // A new process or thread waits for its parent's next turn, as the
  // kernel usually lets the parent go on first.
  bool slice_over = slice_events_ >= kSliceEvents && desc->policy != ReplayPolicy::Clone;
  if ((nr == SYS_sched_yield || slice_over) && others_ready(rt)) {
    rt.state = RecordTask::State::Ready;
    running_ = nullptr;
    return {};
  }
  return resume_running(rt);
}

trace::SyscallEvent::Builder RecordSession::start_syscall_frame(RecordTask& rt, trace::Frame::Builder frame,
                                                               pid_t tid) {
  frame.setEvent(next_event_);
  frame.setTid(tid);
  auto sc = frame.initSyscall();
  sc.setNumber(rt.entry_regs.syscallno());
  regs_to_capnp(rt.entry_regs, sc.initEntryRegs());
  return sc;
}

Status RecordSession::end_syscall_exit_frame(RecordTask& rt, capnp::MessageBuilder& msg, trace::Frame::Builder frame,
                                             trace::SyscallEvent::Builder sc, const Registers& regs,
                                             bool undecided) {
  regs_to_capnp(regs, sc.initExitRegs());
  // An exec's frame holds the whole XSAVE area of the new image instead.
  if (!sc.hasImage()) frame.setFpuDigest(fpu_digest(*rt.task));
  rt.last_event_regs = regs;
  rt.restart_undecided = undecided;
  RR_TRY(finish_frame(msg));
  inject_held_signals(rt);
  return {};
}

Result<bool> RecordSession::syscall_exit_stop(RecordTask& rt) {
  if (!rt.traced.by.value || !rt.traced.syscalls) return false;
  bool good = rt.traced.options & PTRACE_O_TRACESYSGOOD;
  int code = good ? (SIGTRAP | 0x80) : SIGTRAP;
  RR_TRY(enter_tracer_stop(rt, RecordTask::Traced::Stop::SyscallExit, (code << 8) | 0x7f,
                           siginfo_for_trap(code, rt)));
  return true;
}

Status RecordSession::on_skipped_exit(RecordTask& rt) {
  Task& t = *rt.task;
  rt.skipped_by_tracer = false;
  rt.in_syscall = false;
  rt.traced.entry_shown = false;
  rt.traced.seccomp_shown = false;
  // The kernel saw an invalid number; the tracer's view keeps the call's.
  int64_t nr = rt.entry_regs.syscallno();
  Registers regs = t.regs();
  regs.set_syscallno(nr);
  t.set_regs(regs);
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  auto sc = start_syscall_frame(rt, frame, rt.frame_tid().value);
  sc.setResult(regs.syscall_result());
  sc.setSkippedByTracer(true);
  RR_TRY(end_syscall_exit_frame(rt, msg, frame, sc, regs, false));
  RR_ASSIGN_OR_RETURN(bool stopped, syscall_exit_stop(rt));
  if (stopped) return {};
  rt.traced.step = rt.traced.step_after_skip;
  rt.traced.step_after_skip = false;
  return resume_running(rt);
}

void RecordSession::record_echo(RecordTask& rt, const SyscallDesc& desc, const SyscallArgs& call,
                                trace::SyscallEvent::Builder sc) {
  const FdWrite& w = desc.write;
  if (call.failed() || call.ret <= 0 || w.data == WrittenData::None || w.data == WrittenData::Resize) return;
  int target = rt.fds->echo_target((int64_t)call.arg[w.fd]);
  if (target == 0) return;
  sc.setEchoFd(target);
  auto echo = sc.initEcho();
  std::optional<std::string> bytes;
  if (w.data == WrittenData::FromFd) {
    bytes = rt.echo.at_exit(*rt.task, desc, call);
    if (bytes) echo.setData(capnp_bytes(*bytes));
  } else {
    TaskMemReader mem(*rt.task);
    std::string found;
    if (written_bytes(call, mem, found)) bytes = std::move(found);
  }
  if (!bytes) {
    // Not silent: the user hears it now, and replay -a says it where the
    // bytes would have been echoed.
    uint64_t len = w.data == WrittenData::Mmsghdr ? 0 : (uint64_t)call.ret;
    echo.setLength(len);
    echo.setLost(true);
    fprintf(stderr, "rr: warning: event %llu: the bytes %s wrote to %s could not be recorded; replay -a will "
                    "report them missing\n",
            (unsigned long long)next_event_, desc.name, target == 1 ? "stdout" : "stderr");
    return;
  }
  echo.setLength(bytes->size());
  echo.setHash(XXH64(bytes->data(), bytes->size(), 0));
}

Status RecordSession::check_restart(RecordTask& rt, const Registers& now, bool at_entry) {
  if (!rt.restart_undecided) return {};
  const Registers& exit = rt.last_event_regs;
  Registers restarted = restarted_without_handler(exit);
  if (!at_entry) {
    // A signal at the exit itself is an event; replay's kernel then decides
    // as this one does. One that came after the restart waits for an event.
    if (now == exit) rt.restart_undecided = false;
    if (now == exit || now == restarted) return {};
  } else {
    rt.restart_undecided = false;
    // The entry stop shows the number in orig_rax and -ENOSYS in rax, and
    // rip after the syscall instruction again.
    Registers entry = restarted;
    entry.set_ip(exit.ip());
    entry.set_syscallno(restarted.syscall_result());
    entry.set_syscall_result(now.syscall_result());
    if (now == entry) return {};
  }
  char where[64];
  snprintf(where, sizeof where, "rip 0x%llx", (unsigned long long)now.ip().as_int());
  return make_error("thread " + std::to_string(rt.tid()) + ": " + syscall_name(exit.syscallno()) +
                    " was interrupted (" + std::to_string(exit.syscall_result()) +
                    ") and the kernel went on neither to a signal nor to its restart (" +
                    (at_entry ? "entering " + syscall_name(now.syscallno()) : std::string("a signal")) + " at " +
                    where + "); replay could not follow (event " + std::to_string(next_event_) + ")");
}

// What the kernel writes for restart_syscall is what the interrupted call
// writes: describe it with that call's number and arguments.
SyscallArgs RecordSession::restart_call(RecordTask& rt, const SyscallArgs& call) {
  if (call.nr != SYS_restart_syscall) {
    if (call.ret == kERestartRestartBlock) rt.interrupted = call;
    return call;
  }
  SyscallArgs c = rt.interrupted;
  c.ret = call.ret;
  return c;
}

void RecordSession::inject_held_signals(RecordTask& rt) {
  for (const siginfo_t& si : rt.held) {
    rt.injected[si.si_signo] = si;
    syscall(SYS_tgkill, rt.live_tgid(), rt.tid(), si.si_signo);
  }
  rt.held.clear();
}

// The syscall buffer's seccomp filter (and the no_new_privs a recorder
// without CAP_SYS_ADMIN sets to install it) are the recorder's: prctl tells
// the program what it would see without them (rr's own state, and what the
// program set itself), and the frame records that answer.
void RecordSession::show_native_prctl(RecordTask& rt, SyscallArgs& call) {
  if (call.nr == SYS_seccomp && call.arg[0] == SECCOMP_SET_MODE_FILTER && call.ret == 0) {
    if (call.arg[1] & SECCOMP_FILTER_FLAG_TSYNC) {
      for (RecordedTid tid : threads_of(rt.tgid))
        if (RecordTask* o = find_task(tid)) o->own_seccomp = true;
    }
    rt.own_seccomp = true;
  }
  // Known with the syscall buffer off as well: copies are not made of a
  // task under the program's filter, whose checkpoint would lack it.
  if (call.nr == SYS_prctl && call.arg[0] == PR_SET_SECCOMP && call.arg[1] == SECCOMP_MODE_FILTER && call.ret == 0)
    rt.own_seccomp = true;
  if (call.nr != SYS_prctl || !syscall_buffer_) return;
  int64_t native = -1;
  if (call.arg[0] == PR_SET_NO_NEW_PRIVS && call.ret == 0) rt.own_no_new_privs = true;
  if (call.arg[0] == PR_GET_SECCOMP && call.ret == SECCOMP_MODE_FILTER)
    native = rt.own_seccomp ? SECCOMP_MODE_FILTER : inherited_seccomp_;
  if (call.arg[0] == PR_GET_NO_NEW_PRIVS && call.ret == 1) native = rt.own_no_new_privs ? 1 : inherited_no_new_privs_;
  if (native < 0 || native == call.ret) return;
  Registers r = rt.task->regs();
  r.set_syscall_result(native);
  rt.task->set_regs(r);
  call.ret = native;
}

// (And prctl(PR_GET_TSC), which would show the recorder's rdtsc trap.)
void RecordSession::after_syscall_exit(RecordTask& rt, const SyscallArgs& call) {
  constexpr uint64_t kTrapBits = (1ull << (SIGSEGV - 1)) | (1ull << (SIGILL - 1));
  if (call.nr == SYS_prctl && call.arg[0] == PR_GET_TSC && call.ret == 0) {
    // The program sees rdtsc as it runs natively, not the recorder's trap
    // (replay applies the value recorded here).
    int enabled = PR_TSC_ENABLE;
    rt.task->try_write_mem(RemotePtr<>(call.arg[1]), &enabled, sizeof(enabled));
  } else if (call.nr == SYS_rt_sigprocmask || call.nr == SYS_rt_sigreturn) {
    rt.trap_blocked = rt.task->blocked_signals() & kTrapBits;
  } else if (call.nr == SYS_rt_sigaction && call.ret == 0 &&
             (static_cast<int>(call.arg[0]) == SIGSEGV || static_cast<int>(call.arg[0]) == SIGILL) && call.arg[1]) {
    // Asked of the kernel: the new action's buffer may also have received
    // the old one (sigaction(SIGSEGV, &sa, &sa)).
    int sig = static_cast<int>(call.arg[0]);
    RecordTask::SegvAction now;
    if (segv_action(*rt.task, sig, &now.handler, &now.flags)) rt.traps->of(sig) = now;
  }
}

void RecordSession::track_segv_at_handler(RecordTask& rt, int sig) {
  rt.trap_blocked = rt.task->blocked_signals() & ((1ull << (SIGSEGV - 1)) | (1ull << (SIGILL - 1)));
  if ((sig == SIGSEGV || sig == SIGILL) && (rt.traps->of(sig).flags & SA_RESETHAND)) rt.traps->of(sig) = {};
}

// The kernel delivered the rdtsc trap's SIGSEGV (or an rdrand trap's
// SIGILL) by force: where the program blocked or ignored it, it unblocked
// it and reset its handler to SIG_DFL. Both are put back, and the event says
// so for replay, whose kernel does the same.
void RecordSession::undo_forced_segv(RecordTask& rt, trace::RdtscEvent::Builder ev, int sig) {
  Task& t = *rt.task;
  const RecordTask::SegvAction& action = rt.traps->of(sig);
  bool blocked = rt.trap_blocked & (1ull << (sig - 1));
  bool ignored = action.handler == reinterpret_cast<uint64_t>(SIG_IGN);
  if (!blocked && !ignored) return;
  if (blocked) {
    t.set_blocked_signals(t.blocked_signals() | (1ull << (sig - 1)));
    ev.setSegvReblocked(true);
  }
  if (action.handler != reinterpret_cast<uint64_t>(SIG_DFL)) {
    restore_segv_handler(t, sig, action.handler);
    ev.setSegvHandler(action.handler);
  }
}

bool RecordSession::try_emulate_rdtsc(RecordTask& rt, const siginfo_t& si) {
  if (si.si_signo != SIGSEGV || si.si_code != SI_KERNEL) return false;
  Task& t = *rt.task;
  Registers regs = t.regs();
  uint8_t insn[3] = {};
  if (!t.read_mem(regs.ip(), insn, sizeof(insn))) return false;
  bool rdtsc = insn[0] == 0x0f && insn[1] == 0x31;
  bool rdtscp = insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9;
  if (!rdtsc && !rdtscp) return false;
  unsigned aux = 0;
  uint64_t tsc = rdtscp ? __rdtscp(&aux) : __rdtsc();
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto ev = frame.initRdtsc();
  regs_to_capnp(regs, ev.initRegs());
  ev.setTsc(tsc);
  ev.setAux(aux);
  ev.setRdtscp(rdtscp);
  frame.setFpuDigest(fpu_digest(t));
  undo_forced_segv(rt, ev);
  user_regs_struct& r = regs.raw();
  r.rax = tsc & 0xffffffffu;
  r.rdx = tsc >> 32;
  if (rdtscp) r.rcx = aux;
  r.rip += rdtscp ? 3 : 2;
  t.set_regs(regs);
  rt.last_event_regs = regs;
  Status st = finish_frame(msg);
  if (!st.ok()) fatal(st.error().message);
  return true;
}

Status RecordSession::on_signal(RecordTask& rt, int sig) {
  Task& t = *rt.task;
  siginfo_t si = t.siginfo();
  Registers regs = t.regs();
  RR_TRY(check_restart(rt, regs, false));
  if (try_emulate_rdtsc(rt, si) || try_emulate_random(rt, si)) return resume_running(rt);
  bool sync = is_synchronous(sig, si);
  if (!sync && !(regs == rt.last_event_regs)) {
    // User code ran since the last event: this point cannot be found again
    // in replay. Hold the signal and deliver it after the next syscall.
    rt.held.push_back(si);
    return resume_running(rt);
  }
  if (!sync) {
    auto it = rt.injected.find(sig);
    if (it != rt.injected.end()) {
      si = it->second;
      t.set_siginfo(si);
      rt.injected.erase(it);
    }
  }
  {
    RR_ASSIGN_OR_RETURN(bool held_for_tracer, tracer_sees_signal(rt, sig, si, regs));
    if (held_for_tracer) return {};
  }
  bool init_dies = sync && init_fault_needs_detach(t, sig);
  rt.pending_signal_frame = std::make_unique<capnp::MallocMessageBuilder>();
  auto frame = rt.pending_signal_frame->initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto ev = frame.initSignal();
  ev.setSigno(sig);
  ev.setSiginfo(capnp_bytes(&si, sizeof(si)));
  ev.setSynchronous(sync);
  regs_to_capnp(regs, ev.initRegs());
  ev.setDeliver(true);
  rt.last_event_regs = regs;
  if (init_dies) return end_init_by_fault(rt, sig);
  // At the delivery stop, before the kernel gives a handler a fresh FPU state.
  frame.setFpuDigest(fpu_digest(t));
  rt.deliver_sig = sig;
  return resume_running(rt);
}

// A System V segment was attached at call.ret: its length is the mapping's
// (the kernel's own numbers: the segment may have been made outside the
// recording, and its size rounded up to pages), and its pages that are not
// zero are recorded as the call's writes, so that replay's copy of the
// segment starts with what this one held.
Status RecordSession::record_shm_attach(RecordTask& rt, const SyscallArgs& call, std::vector<MemRange>& ranges,
                                        uint64_t* length) {
  Task& t = *rt.task;
  std::vector<MapEntry> maps = read_maps(t.tid());
  RemotePtr<> at(static_cast<uint64_t>(call.ret));
  auto it = std::find_if(maps.begin(), maps.end(), [&](const MapEntry& e) { return e.start == at; });
  if (it == maps.end() || it->name.rfind("/SYSV", 0) != 0)
    return make_error("shmat returned " + std::to_string(call.ret) + ", where no segment is mapped (event " +
                      std::to_string(next_event_) + ")");
  // A fresh attachment is one mapping (a later mprotect may split it).
  RemotePtr<> end = it->end;
  *length = end.as_int() - at.as_int();
  constexpr uint64_t kChunk = 64 * kPageSize;
  std::vector<uint8_t> buf(kChunk);
  uint64_t run_start = 0, run_len = 0;
  for (uint64_t off = 0; off < *length; off += kChunk) {
    uint64_t n = std::min(kChunk, *length - off);
    if (!t.read_mem(at + off, buf.data(), n))
      return make_error("cannot read the System V segment shmat attached at " + std::to_string(at.as_int()));
    for (uint64_t p = 0; p < n; p += kPageSize) {
      bool zero = is_zero_page(buf.data() + p);
      if (!zero && run_len && run_start + run_len == off + p) {
        run_len += kPageSize;
      } else if (!zero) {
        if (run_len) ranges.push_back({at + run_start, run_len});
        run_start = off + p;
        run_len = kPageSize;
      }
    }
  }
  if (run_len) ranges.push_back({at + run_start, run_len});
  return {};
}

Status RecordSession::end_init_by_fault(RecordTask& rt, int sig) {
  RR_TRY(finish_frame(*rt.pending_signal_frame));
  rt.pending_signal_frame.reset();
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(rt.tid());
  frame.initExit().setKilledBy(sig);
  RR_TRY(finish_frame(msg));
  rt.exit_recorded = true;
  exiting_groups_.insert(rt.tgid);
  // Untraced, it faults again and dies of it. Its end is not waited for:
  // the kernel ends the rest of its namespace first, whose tasks are ours
  // to reap.
  RR_LOG("task %d, the first process of its PID namespace, dies of signal %d: detached", rt.tid(), sig);
  uint64_t ns = PidNamespace::inode_of(rt.tid());
  rt.task->detach();
  namespace_ends(ns);
  remove_task(rt.recorded());
  return {};
}

}  // namespace rr
