#include "record/record_session.h"

#include <cerrno>
#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <random>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <cpuid.h>
#include <sched.h>

#include "core/address_space.h"
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "record/syscall_table.h"
#include "util/fatal.h"
#include "util/io.h"

extern char** environ;

namespace rr {

namespace {

constexpr long kPtraceOptions = PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC |
                                PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;

// Environment switches that keep well-known code off instructions whose
// results the engine cannot record or repeat.
const char* const kDeterminismEnv[] = {
    // OpenSSL: no RDRAND (leaf 1 ECX bit 30), no RDSEED (leaf 7 EBX bit 18).
    "OPENSSL_ia32cap=~0x4000000000000000:0x40000",
    // ld.so: bind symbols at start-up. Lazy binding runs _dl_runtime_resolve,
    // which XSAVEs the vector registers onto the stack; what XSAVE writes
    // depends on whether the CPU considers them in use, which a context
    // switch can change (seen here: 2% of replays differed in those bytes).
    "LD_BIND_NOW=1",
};

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

std::string next_trace_dir(const std::string& exe) {
  std::string root = trace_root();
  Status st = make_dirs(root);
  if (!st.ok()) fatal(st.error().message);
  std::string base = exe.substr(exe.rfind('/') + 1);
  for (int n = 0;; ++n) {
    std::string dir = root + "/" + base + "-" + std::to_string(n);
    if (mkdir(dir.c_str(), 0755) == 0) return dir;
    if (errno != EEXIST) fatal_errno("cannot create " + dir);
  }
}

void update_latest_link(const std::string& dir) {
  std::string root = trace_root();
  std::string link = root + "/latest-trace";
  std::string tmp = link + ".tmp." + std::to_string(getpid());
  std::string target = dir;
  if (dir.rfind(root + "/", 0) == 0) target = dir.substr(root.size() + 1);
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) == 0 && rename(tmp.c_str(), link.c_str()) != 0) unlink(tmp.c_str());
}

class TaskMemReader : public SyscallMemReader {
 public:
  explicit TaskMemReader(Task& t) : t_(t) {}
  bool read(RemotePtr addr, void* buf, size_t len) override { return t_.read_mem(addr, buf, len); }

 private:
  Task& t_;
};

// Hides the vDSO from the program: its AT_SYSINFO_EHDR auxv entry becomes
// AT_IGNORE, so libc makes real (recorded) syscalls for time.
void hide_vdso(Task& t) {
  Registers r = t.regs();
  uint64_t sp = r.sp().as_int();
  uint64_t argc = t.read_val<uint64_t>(RemotePtr(sp));
  uint64_t p = sp + 8 * (argc + 2);  // skip argc, argv[], NULL
  while (t.read_val<uint64_t>(RemotePtr(p)) != 0) p += 8;
  p += 8;
  for (;; p += 16) {
    uint64_t type = t.read_val<uint64_t>(RemotePtr(p));
    if (type == AT_NULL) break;
    if (type == AT_SYSINFO_EHDR) {
      uint64_t ignore = AT_IGNORE;
      t.write_val(RemotePtr(p), ignore);
    }
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

Result<std::string> find_program(const std::string& program) {
  auto check = [](const std::string& path) -> int {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ENOENT;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (access(path.c_str(), X_OK) != 0) return EACCES;
    return 0;
  };
  auto absolute = [](const std::string& p) -> std::string {
    char buf[PATH_MAX];
    if (realpath(p.c_str(), buf)) return buf;
    return p;
  };
  if (program.empty()) return make_error("no program given");
  if (program.find('/') != std::string::npos) {
    int err = check(program);
    if (err == ENOENT) return make_error("program not found: " + program);
    if (err) return make_error("program is not executable: " + program);
    return absolute(program);
  }
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  bool found_not_exec = false;
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(pos, colon - pos);
    pos = colon + 1;
    std::string cand = (dir.empty() ? "." : dir) + "/" + program;
    int err = check(cand);
    if (err == 0) return absolute(cand);
    if (err == EACCES) found_not_exec = true;
  }
  if (found_not_exec) return make_error("program is not executable: " + program);
  return make_error("program not found: " + program);
}

RecordSession::RecordSession(std::unique_ptr<TraceWriter> writer, std::string exe_path)
    : writer_(std::move(writer)), files_(writer_->dir()), exe_path_(std::move(exe_path)), bound_cpu_(choose_cpu()) {}

Result<int> RecordSession::record(const RecordOptions& options) {
  RR_ASSIGN_OR_RETURN(std::string exe, find_program(options.argv[0]));
  std::string dir = options.output_dir.empty() ? next_trace_dir(exe) : options.output_dir;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceWriter> writer, TraceWriter::create(dir));
  RecordSession session(std::move(writer), exe);
  RR_TRY(session.write_header(options));
  if (options.output_dir.empty()) update_latest_link(dir);
  RR_TRY(session.spawn(options));
  Result<int> status = session.run();
  Status fin = session.writer_->finish();
  if (fin.ok()) fin = session.write_shared_files();
  if (!status.ok()) return status;
  if (!fin.ok()) return fin.take_error();
  if (!options.quiet) fprintf(stderr, "rr: saved execution to trace directory '%s'.\n", dir.c_str());
  return status;
}

Status RecordSession::write_header(const RecordOptions& options) {
  capnp::MallocMessageBuilder msg;
  auto h = msg.initRoot<trace::TraceHeader>();
  h.setFormatMajor(kTraceFormatMajor);
  h.setFormatMinor(kTraceFormatMinor);
  uint8_t uuid[16];
  std::random_device rd;
  for (auto& b : uuid) b = static_cast<uint8_t>(rd());
  h.setUuid(capnp_bytes(uuid, 16));
  h.setArch("x86_64");
  h.setExePath(exe_path_);
  auto argv = h.initArgv(options.argv.size());
  for (size_t i = 0; i < options.argv.size(); ++i) argv.set(i, options.argv[i]);
  size_t envc = 0;
  for (char** e = environ; *e; ++e) ++envc;
  h.setEnvCount(envc + 1);
  char cwd[PATH_MAX];
  h.setCwd(getcwd(cwd, sizeof(cwd)) ? cwd : "");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  h.setRecordedAtNs(uint64_t(ts.tv_sec) * 1000000000ull + ts.tv_nsec);
  unsigned a, b, c, d;
  if (__get_cpuid(1, &a, &b, &c, &d)) h.setCpuid1Ecx(c);
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) h.setCpuid7Ebx(b);
  struct utsname u;
  if (uname(&u) == 0) h.setKernelRelease(u.release);
  h.setBoundCpu(bound_cpu_);
  return writer_->write_header(msg);
}

Status RecordSession::spawn(const RecordOptions& options) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.push_back(*e);
  for (const char* e : kDeterminismEnv) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return make_error("pipe: " + errno_text());

  pid_t pid = fork();
  if (pid < 0) return make_error("fork: " + errno_text());
  if (pid == 0) {
    close(err_pipe[0]);
    personality(ADDR_NO_RANDOMIZE);
    prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
    pin_to_cpu(bound_cpu_);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    raise(SIGSTOP);
    execve(exe_path_.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!write(err_pipe[1], &e, sizeof(e));
    _exit(127);
  }
  close(err_pipe[1]);
  ScopedFd err_fd(err_pipe[0]);
  task_ = std::make_unique<Task>(pid, RecordedTid{pid});
  WaitStatus st = task_->wait();
  if (!st.stopped()) return make_error("the program's process ended before it started: " + st.describe());
  task_->set_options(kPtraceOptions);
  // Run to the end of execve.
  bool exec_seen = false;
  for (;;) {
    task_->resume(ResumeHow::Syscall);
    st = task_->wait();
    if (st.ended()) {
      int e = 0;
      if (read(err_fd.get(), &e, sizeof(e)) == (ssize_t)sizeof(e))
        return make_error("cannot execute " + exe_path_ + ": " + strerror(e));
      return make_error("the program ended before it started: " + st.describe());
    }
    if (st.ptrace_event() == PTRACE_EVENT_EXEC) {
      exec_seen = true;
      task_->reopen_mem();
      continue;
    }
    if (exec_seen && st.is_syscall_stop() && !task_->at_syscall_entry()) break;
  }
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(task_->tid());
  on_exec_done(frame.initExec());
  return finish_frame(msg);
}

// At the exit of a successful execve: map the rr page, hide the vDSO and
// capture the new image.
void RecordSession::on_exec_done(trace::ExecImage::Builder out) {
  Task& t = *task_;
  {
    RemoteSyscalls rs(t, t.regs().ip());
    rs.checked("mapping the rr page", SYS_mmap,
               {kRrPageAddr, kRrPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                (uint64_t)-1, 0});
    t.write_mem(RemotePtr(kRrPageAddr), kRrPageCode, sizeof(kRrPageCode));
    rs.checked("protecting the rr page", SYS_mprotect, {kRrPageAddr, kPageSize, PROT_READ | PROT_EXEC});
    hold(rs.stashed_signals());
  }
  hide_vdso(t);
  ProcessImage img;
  {
    RemoteSyscalls rs(t);
    img = capture_image(t, rs, files_, writer_->dir());
    hold(rs.stashed_signals());
  }
  img.mm.auxv = patched_auxv(img.mm.auxv);
  img.regs = t.regs();
  image_to_capnp(img, out);
  last_event_regs_ = img.regs;
}

// Files the program mapped shared and writable: replay gives all mappings of
// such a file one shared copy, so writes through one show in the others.
Status RecordSession::write_shared_files() {
  std::string text;
  for (const std::string& f : shared_files_) text += f + "\n";
  return write_file_atomic(writer_->dir() + "/shared-files", text.data(), text.size());
}

Status RecordSession::finish_frame(capnp::MessageBuilder& msg) {
  ++next_event_;
  return writer_->write_frame(msg);
}

Result<int> RecordSession::run() {
  Task& t = *task_;
  for (;;) {
    if (pending_signal_frame_) {
      // The signal event is written once delivery shows whether a handler
      // ran and what the kernel saved in its frame.
      if (deliver_to_handler(t, deliver_sig_)) {
        FrameKernelState state = read_frame_state(t);
        auto ev = pending_signal_frame_->getRoot<trace::Frame>().getSignal();
        ev.setFrameFpu(capnp_bytes(state.fpu));
        ev.setFrameErr(state.err);
        ev.setFrameTrapno(state.trapno);
        ev.setFrameCr2(state.cr2);
        deliver_sig_ = 0;
      }
      RR_TRY(finish_frame(*pending_signal_frame_));
      pending_signal_frame_.reset();
    }
    t.resume(ResumeHow::Syscall, deliver_sig_);
    deliver_sig_ = 0;
    WaitStatus st = t.wait();
    if (st.ended()) {
      capnp::MallocMessageBuilder msg;
      auto frame = msg.initRoot<trace::Frame>();
      frame.setEvent(next_event_);
      frame.setTid(t.tid());
      auto ex = frame.initExit();
      if (st.exited()) ex.setExitCode(st.exit_code());
      if (st.killed()) {
        ex.setKilledBy(st.term_sig());
        ex.setCoreDumped(st.core_dumped());
      }
      RR_TRY(finish_frame(msg));
      return st.exited() ? st.exit_code() : 128 + st.term_sig();
    }
    if (st.is_syscall_stop()) {
      if (t.at_syscall_entry())
        RR_TRY(on_syscall_entry());
      else
        RR_TRY(on_syscall_exit());
      continue;
    }
    switch (st.ptrace_event()) {
      case 0:
        break;
      case PTRACE_EVENT_EXEC:
        exec_seen_ = true;
        t.reopen_mem();
        continue;
      default:
        return make_error("unexpected ptrace event " + std::to_string(st.ptrace_event()));
    }
    int sig = st.stop_sig();
    if (sig) RR_TRY(on_signal(sig));
  }
}

Status RecordSession::on_syscall_entry() {
  Task& t = *task_;
  entry_regs_ = t.regs();
  exec_seen_ = false;
  int64_t nr = entry_regs_.syscallno();
  const SyscallDesc* desc = syscall_desc(nr);
  char where[64];
  snprintf(where, sizeof(where), " (event %llu, tid %d)", (unsigned long long)next_event_, t.tid());
  if (!desc) return make_error("syscall " + syscall_name(nr) + " (" + std::to_string(nr) + ") is not supported yet" + where);
  if (desc->policy == ReplayPolicy::Unsupported) {
    if (nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork)
      return make_error(std::string("the program creates a process or thread (") + desc->name +
                        "): processes and threads are not supported yet" + where);
    return make_error(std::string("syscall ") + desc->name + " is not supported yet" + where);
  }
  if (nr == SYS_rseq) {
    // Refused (ENOSYS): the kernel would write the current CPU into the
    // registered area at any preemption and abort critical sections at
    // points replay cannot find again.
    Registers r = entry_regs_;
    r.set_syscallno(-1);
    t.set_regs(r);
  }
  if (desc->policy == ReplayPolicy::Exit) {
    // The task ends inside this syscall: record it now, the exit event follows.
    capnp::MallocMessageBuilder msg;
    auto frame = msg.initRoot<trace::Frame>();
    frame.setEvent(next_event_);
    frame.setTid(t.tid());
    auto sc = frame.initSyscall();
    sc.setNumber(nr);
    regs_to_capnp(entry_regs_, sc.initEntryRegs());
    regs_to_capnp(entry_regs_, sc.initExitRegs());
    return finish_frame(msg);
  }
  return {};
}

Status RecordSession::on_syscall_exit() {
  Task& t = *task_;
  Registers regs = t.regs();
  int64_t nr = entry_regs_.syscallno();
  const SyscallDesc* desc = syscall_desc(nr);
  if (!desc) return make_error("syscall exit without a known entry");
  SyscallArgs call;
  call.nr = nr;
  for (int i = 0; i < 6; ++i) call.arg[i] = entry_regs_.arg(i);
  call.ret = regs.syscall_result();

  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto sc = frame.initSyscall();
  sc.setNumber(nr);
  regs_to_capnp(entry_regs_, sc.initEntryRegs());
  sc.setResult(call.ret);

  if (desc->policy == ReplayPolicy::Exec && exec_seen_ && call.ret == 0) {
    on_exec_done(sc.initImage());
    fds_.on_exec();
    regs = t.regs();
  } else {
    std::vector<MemRange> ranges;
    TaskMemReader reader(t);
    std::string why = syscall_outputs(restart_call(call), reader, ranges);
    if (!why.empty()) return make_error(why + " (event " + std::to_string(next_event_) + ")");
    if (!shared_maps_.empty()) record_shared_map_changes(call, ranges);
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
        RR_ASSIGN_OR_RETURN(std::string stored, files_.store(fd_path, name));
        map.setFile(stored);
        if ((call.arg[3] & MAP_SHARED) && (call.arg[2] & PROT_WRITE)) shared_files_.insert(stored);
        if (call.arg[3] & MAP_SHARED)
          shared_maps_.push_back({(uint64_t)call.ret, page_ceil(call.arg[1]), (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                                  (call.arg[2] & PROT_WRITE) != 0, stored});
      }
      sc.setHasMap(true);
    }
    if ((nr == SYS_write || nr == SYS_writev || nr == SYS_pwrite64 || nr == SYS_pwritev) && call.ret > 0)
      sc.setEchoFd(fds_.echo_target((int64_t)call.arg[0]));
  }
  fds_.on_syscall(nr, call.arg, call.ret, [&](RemotePtr a, void* b, size_t n) { return t.read_mem(a, b, n); });
  regs_to_capnp(regs, sc.initExitRegs());
  last_event_regs_ = regs;
  RR_TRY(finish_frame(msg));
  inject_held_signals();
  return {};
}

// What the kernel writes for restart_syscall is what the interrupted call
// writes: describe it with that call's number and arguments.
SyscallArgs RecordSession::restart_call(const SyscallArgs& call) {
  if (call.nr != SYS_restart_syscall) {
    if (call.ret == -516 /* ERESTART_RESTARTBLOCK */) interrupted_ = call;
    return call;
  }
  SyscallArgs c = interrupted_;
  c.ret = call.ret;
  return c;
}

void RecordSession::record_shared_map_changes(const SyscallArgs& call, std::vector<MemRange>& ranges) {
  if (call.nr == SYS_munmap) {
    std::erase_if(shared_maps_, [&](const SharedMapping& m) {
      return m.start >= call.arg[0] && m.start + m.len <= call.arg[0] + page_ceil(call.arg[1]);
    });
    return;
  }
  static const int64_t kFileWriters[] = {SYS_write, SYS_pwrite64, SYS_writev, SYS_pwritev, SYS_pwritev2,
                                         SYS_ftruncate, SYS_fallocate, SYS_copy_file_range, SYS_sendfile, SYS_splice};
  if (call.failed() || std::find(std::begin(kFileWriters), std::end(kFileWriters), call.nr) == std::end(kFileWriters))
    return;
  int fd = (int)(call.nr == SYS_copy_file_range || call.nr == SYS_splice ? call.arg[2] : call.arg[0]);
  struct stat st;
  std::string path = "/proc/" + std::to_string(task_->tid()) + "/fd/" + std::to_string(fd);
  if (stat(path.c_str(), &st) != 0) return;
  for (const SharedMapping& m : shared_maps_) {
    if (m.dev != (uint64_t)st.st_dev || m.ino != (uint64_t)st.st_ino) continue;
    // Replay backs a file with writable shared mappings by one shared copy,
    // so the writable mappings carry the change to the read-only ones, which
    // replay could not write. Other files are private copies in replay.
    if (!m.writable && shared_files_.count(m.file)) continue;
    ranges.push_back({RemotePtr(m.start), m.len});
  }
}

void RecordSession::inject_held_signals() {
  for (const siginfo_t& si : held_) {
    injected_[si.si_signo] = si;
    syscall(SYS_tgkill, task_->tid(), task_->tid(), si.si_signo);
  }
  held_.clear();
}

bool RecordSession::try_emulate_rdtsc(const siginfo_t& si) {
  if (si.si_signo != SIGSEGV || si.si_code != SI_KERNEL) return false;
  Task& t = *task_;
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
  user_regs_struct& r = regs.raw();
  r.rax = tsc & 0xffffffffu;
  r.rdx = tsc >> 32;
  if (rdtscp) r.rcx = aux;
  r.rip += rdtscp ? 3 : 2;
  t.set_regs(regs);
  last_event_regs_ = regs;
  Status st = finish_frame(msg);
  if (!st.ok()) fatal(st.error().message);
  return true;
}

Status RecordSession::on_signal(int sig) {
  Task& t = *task_;
  siginfo_t si = t.siginfo();
  if (try_emulate_rdtsc(si)) return {};
  Registers regs = t.regs();
  bool sync = is_synchronous(sig, si);
  if (!sync && !(regs == last_event_regs_)) {
    // User code ran since the last event: this point cannot be found again
    // in replay. Hold the signal and deliver it after the next syscall.
    held_.push_back(si);
    return {};
  }
  if (!sync) {
    auto it = injected_.find(sig);
    if (it != injected_.end()) {
      si = it->second;
      t.set_siginfo(si);
      injected_.erase(it);
    }
  }
  pending_signal_frame_ = std::make_unique<capnp::MallocMessageBuilder>();
  auto frame = pending_signal_frame_->initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto ev = frame.initSignal();
  ev.setSigno(sig);
  ev.setSiginfo(capnp_bytes(&si, sizeof(si)));
  ev.setSynchronous(sync);
  regs_to_capnp(regs, ev.initRegs());
  ev.setDeliver(true);
  deliver_sig_ = sig;
  last_event_regs_ = regs;
  return {};
}

}  // namespace rr

namespace rr {

int choose_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  // Spread concurrent recordings over the allowed CPUs.
  int count = CPU_COUNT(&set);
  if (count == 0) return 0;
  int pick = getpid() % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &set)) continue;
    if (pick-- == 0) return cpu;
  }
  return 0;
}

bool pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

}  // namespace rr
