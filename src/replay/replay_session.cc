#include "replay/replay_session.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
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
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "record/record_session.h"
#include "record/syscall_table.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr long kStubOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL;

// The body of a replay tracee before the supervisor rebuilds it: map the rr
// page where recordings have it, then stop for the supervisor.
[[noreturn]] void stub_main(int cpu) {
  personality(ADDR_NO_RANDOMIZE);
  pin_to_cpu(cpu);
  prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
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
  raise(SIGSTOP);
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
  return task_ && task_->alive() && !exited_ && !exiting_ && pending_sig_ == 0 && !signal_queued_ &&
         emulated_files_.empty() && current_event_ >= 1;
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

bool ReplaySession::replay_mask_swap(trace::SyscallEvent::Reader sc) {
  Task& t = *task_;
  Registers regs = t.regs();
  uint64_t mask = 0, size = 8;
  switch (sc.getNumber()) {
    case SYS_rt_sigsuspend: mask = regs.arg(0); size = regs.arg(1); break;
    case SYS_ppoll: mask = regs.arg(3); size = regs.arg(4); break;
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2: mask = regs.arg(4); size = regs.arg(5); break;
    case SYS_pselect6: {
      uint64_t pair[2] = {0, 0};
      if (regs.arg(5) && t.read_mem(RemotePtr(regs.arg(5)), pair, sizeof(pair))) {
        mask = pair[0];
        size = pair[1];
      }
      break;
    }
    default: return false;
  }
  if (!mask) return false;
  const FrameData* next = peek();
  if (!next || next->frame().which() != trace::Frame::SIGNAL || next->frame().getSignal().getSynchronous()) return false;
  int sig = next->frame().getSignal().getSigno();
  syscall(SYS_tgkill, t.tid(), t.tid(), sig);
  signal_queued_ = true;
  Registers r = regs;
  r.set_syscallno(SYS_rt_sigsuspend);
  r.set_arg(0, mask);
  r.set_arg(1, size);
  t.set_regs(r);
  execute_in_place();
  Registers after = regs;
  after.set_syscall_result(sc.getResult());
  t.set_regs(after);
  return true;
}

ReplaySession::~ReplaySession() = default;

Status ReplaySession::spawn_stub(RecordedTid recorded) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return make_error("fork: " + errno_text());
  if (pid == 0) stub_main(reader_->header().getBoundCpu());
  task_ = std::make_unique<Task>(pid, recorded);
  WaitStatus st = task_->wait();
  if (!st.stopped() || WSTOPSIG(st.raw()) != SIGSTOP)
    return make_error("the replay process did not start: " + st.describe());
  task_->set_options(kStubOptions);
  return {};
}

Status ReplaySession::run_to(uint64_t target) {
  while (!at_end_ && (target == 0 || current_event_ < target)) {
    Result<std::optional<FrameData>> next = take_next();
    if (!next.ok()) return next.take_error();
    if (!next.value()) {
      at_end_ = true;
      if (!exited_) return make_error("the trace ends at event " + std::to_string(current_event_) +
                                      " without the program's exit (recording was interrupted)");
      break;
    }
    trace::Frame::Reader f = next.value()->frame();
    if (f.getEvent() != current_event_ + 1)
      return make_error("trace is corrupt: event " + std::to_string(f.getEvent()) + " follows event " +
                        std::to_string(current_event_));
    try {
      RR_TRY(apply(f));
    } catch (const kj::Exception& e) {
      return make_error("trace is corrupt at event " + std::to_string(f.getEvent()) + ": " + e.getDescription().cStr());
    } catch (const FatalError& e) {
      return make_error("replay failed at event " + std::to_string(f.getEvent()) + ": " + e.what());
    }
    current_event_ = f.getEvent();
    if (progress_ && current_event_ % 4096 == 0) progress_(current_event_);
  }
  if (target != 0 && current_event_ < target)
    return make_error("event " + std::to_string(target) + " is past the end of the trace (last event " +
                      std::to_string(current_event_) + ")");
  return {};
}

Status ReplaySession::apply(trace::Frame::Reader f) {
  if (!task_ && f.which() != trace::Frame::EXEC) return make_error("trace is corrupt: it does not start with an exec");
  switch (f.which()) {
    case trace::Frame::EXEC: return apply_exec(f, f.getExec());
    case trace::Frame::SYSCALL: return apply_syscall(f, f.getSyscall());
    case trace::Frame::SIGNAL: return apply_signal(f, f.getSignal());
    case trace::Frame::RDTSC: return apply_rdtsc(f, f.getRdtsc());
    case trace::Frame::EXIT: return apply_exit(f, f.getExit());
  }
  return make_error("trace is corrupt: unknown event kind at event " + std::to_string(f.getEvent()));
}

Status ReplaySession::apply_exec(trace::Frame::Reader f, trace::ExecImage::Reader image) {
  if (task_) return make_error("trace is corrupt: a second initial exec");
  RR_TRY(spawn_stub(RecordedTid{f.getTid()}));
  restore_image(*task_, image_from_capnp(image), reader_->dir());
  return {};
}

WaitStatus ReplaySession::resume_and_wait(ResumeHow how) {
  if (pending_sig_ && deliver_to_handler(*task_, pending_sig_)) {
    write_frame_state(*task_, pending_frame_);
    pending_sig_ = 0;
  }
  task_->resume(how, pending_sig_);
  pending_sig_ = 0;
  return task_->wait();
}

Error ReplaySession::divergence(trace::Frame::Reader f, const std::string& what) {
  return make_error("replay diverged at event " + std::to_string(f.getEvent()) + ", tid " +
                    std::to_string(f.getTid()) + ": " + what);
}

Status ReplaySession::check_regs(trace::Frame::Reader f, const char* what, const Registers& expected) {
  Registers now = task_->regs();
  std::string d = now.diff(expected);
  if (d.empty()) return {};
  return divergence(f, std::string("registers differ ") + what + " (replay != recording): " + d);
}

static std::string describe_stop(const WaitStatus& st) {
  if (st.stop_sig()) return std::string("signal ") + strsignal(st.stop_sig());
  return st.describe();
}

Registers ReplaySession::execute_in_place() {
  Task& t = *task_;
  Registers r = t.regs();
  int64_t nr = r.syscallno();
  r.set_ip(r.ip() + (uint64_t)-2);
  r.set_syscall_result(nr);
  t.set_regs(r);
  t.resume(ResumeHow::Syscall);
  WaitStatus st = t.wait();
  if (st.is_syscall_stop() && !t.at_syscall_entry()) {
    // The exit stop of the syscall SYSEMU skipped.
    t.resume(ResumeHow::Syscall);
    st = t.wait();
  }
  if (!st.is_syscall_stop() || !t.at_syscall_entry())
    fatal("re-executing " + syscall_name(nr) + " did not reach its entry: " + describe_stop(st));
  t.resume(ResumeHow::Syscall);
  st = t.wait();
  if (!st.is_syscall_stop()) fatal("re-executing " + syscall_name(nr) + " did not return: " + describe_stop(st));
  return t.regs();
}

void ReplaySession::echo_write(trace::SyscallEvent::Reader sc, int fd) {
  Registers regs = task_->regs();
  int64_t total = sc.getResult();
  if (total <= 0) return;
  std::string out;
  int64_t nr = sc.getNumber();
  if (nr == SYS_write || nr == SYS_pwrite64) {
    out = task_->read_bytes(RemotePtr(regs.arg(1)), total);
  } else {
    uint64_t iovcnt = regs.arg(2);
    for (uint64_t i = 0; i < iovcnt && (int64_t)out.size() < total; ++i) {
      struct iovec iov = task_->read_val<struct iovec>(RemotePtr(regs.arg(1) + i * sizeof(iovec)));
      size_t n = std::min<size_t>(iov.iov_len, total - out.size());
      out += task_->read_bytes(RemotePtr((uint64_t)iov.iov_base), n);
    }
  }
  Status st = write_all(fd, out.data(), out.size(), fd == 1 ? "stdout" : "stderr");
  (void)st;  // the user closed our output; replay goes on
}

Status ReplaySession::apply_syscall(trace::Frame::Reader f, trace::SyscallEvent::Reader sc) {
  Task& t = *task_;
  int64_t nr = sc.getNumber();
  WaitStatus st = resume_and_wait(ResumeHow::Sysemu);
  if (st.ended()) return divergence(f, "the program " + st.describe() + " where the recording made syscall " + syscall_name(nr));
  if (!st.is_syscall_stop())
    return divergence(f, "expected syscall " + syscall_name(nr) + ", got " + describe_stop(st) + " at rip 0x" +
                             [&] { char b[32]; snprintf(b, sizeof b, "%llx", (unsigned long long)t.regs().ip().as_int()); return std::string(b); }());
  RR_TRY(check_regs(f, ("at the entry of " + syscall_name(nr)).c_str(), regs_from_capnp(sc.getEntryRegs())));
  ++counters_.syscalls;
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
      replay_mask_swap(sc);
      apply_writes();
      set_result();
      if (sc.getEchoFd() && echo_) echo_write(sc, sc.getEchoFd());
      break;
    case ReplayPolicy::ExecuteSame: {
      ++counters_.executed;
      Registers after = execute_in_place();
      // set_tid_address returns the live tid, which replay keeps as recorded.
      if (nr != SYS_set_tid_address) RR_TRY(check_result(after.syscall_result()));
      apply_writes();
      set_result();
      break;
    }
    case ReplayPolicy::Sigreturn: {
      ++counters_.executed;
      execute_in_place();
      RR_TRY(check_regs(f, "after rt_sigreturn", regs_from_capnp(sc.getExitRegs())));
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
        Registers after = execute_in_place();
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
      restore_image(t, image_from_capnp(sc.getImage()), reader_->dir());
      fds_.on_exec();
      break;
    }
    case ReplayPolicy::Exit: {
      Registers r = t.regs();
      r.set_ip(r.ip() + (uint64_t)-2);
      r.set_syscall_result(nr);
      t.set_regs(r);
      exiting_ = true;
      break;
    }
  }
  uint64_t args[6];
  for (int i = 0; i < 6; ++i) args[i] = regs_from_capnp(sc.getEntryRegs()).arg(i);
  fds_.on_syscall(nr, args, result, [&](RemotePtr a, void* b, size_t n) { return t.read_mem(a, b, n); });
  return {};
}

Status ReplaySession::apply_signal(trace::Frame::Reader f, trace::SignalEvent::Reader ev) {
  Task& t = *task_;
  int sig = ev.getSigno();
  ++counters_.signals;
  if (!ev.getSynchronous() && !signal_queued_) syscall(SYS_tgkill, t.tid(), t.tid(), sig);
  signal_queued_ = false;
  WaitStatus st = resume_and_wait(ResumeHow::Sysemu);
  if (st.stop_sig() != sig)
    return divergence(f, std::string("expected signal ") + strsignal(sig) + ", got " + describe_stop(st));
  RR_TRY(check_regs(f, (std::string("at delivery of ") + strsignal(sig)).c_str(), regs_from_capnp(ev.getRegs())));
  if (!ev.getSynchronous()) {
    std::string info = data_string(ev.getSiginfo());
    if (info.size() != sizeof(siginfo_t)) return make_error("trace is corrupt: bad siginfo size");
    siginfo_t si;
    memcpy(&si, info.data(), sizeof(si));
    t.set_siginfo(si);
  }
  pending_sig_ = ev.getDeliver() ? sig : 0;
  pending_frame_ = FrameKernelState{ev.getFrameErr(), ev.getFrameTrapno(), ev.getFrameCr2(), data_string(ev.getFrameFpu())};
  return {};
}

Status ReplaySession::apply_rdtsc(trace::Frame::Reader f, trace::RdtscEvent::Reader ev) {
  Task& t = *task_;
  ++counters_.rdtsc;
  WaitStatus st = resume_and_wait(ResumeHow::Sysemu);
  if (st.stop_sig() != SIGSEGV) return divergence(f, "expected an rdtsc trap, got " + describe_stop(st));
  RR_TRY(check_regs(f, "at rdtsc", regs_from_capnp(ev.getRegs())));
  Registers r = t.regs();
  user_regs_struct& raw = r.raw();
  raw.rax = ev.getTsc() & 0xffffffffu;
  raw.rdx = ev.getTsc() >> 32;
  if (ev.getRdtscp()) raw.rcx = ev.getAux();
  raw.rip += ev.getRdtscp() ? 3 : 2;
  t.set_regs(r);
  return {};
}

Status ReplaySession::apply_exit(trace::Frame::Reader f, trace::ExitEvent::Reader ev) {
  WaitStatus st = resume_and_wait(ResumeHow::Cont);
  while (!st.ended()) {
    // Only an exit is expected now; anything else is a divergence.
    return divergence(f, "expected the program to end, got " + describe_stop(st));
  }
  task_->mark_dead();
  exited_ = true;
  exit_code_ = st.exited() ? st.exit_code() : 0;
  killed_by_ = st.killed() ? st.term_sig() : 0;
  if (ev.getKilledBy() != killed_by_ || (!killed_by_ && ev.getExitCode() != exit_code_))
    return divergence(f, "the program " + st.describe() + " in replay, but exited with status " +
                             std::to_string(ev.getExitCode()) + " / signal " + std::to_string(ev.getKilledBy()) +
                             " in the recording");
  return {};
}

}  // namespace rr

