#include "record/record_session.h"
#include "trace/counter_model.h"

#include <cerrno>
#include <algorithm>
#include <climits>
#include <optional>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <random>
#include <set>
#include <sys/mman.h>
#include <sys/personality.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <sched.h>
#include <sys/wait.h>

#include "core/address_space.h"
#include "preload/syscall_buffer.h"
#include "core/pid_namespace.h"
#include "core/progress_counter.h"
#include "core/remote_syscalls.h"
#include "core/signal_delivery.h"
#include "core/rr_page.h"
#include "core/tracee_setup.h"
#include "core/syscall_table.h"
#include "core/task_mem_reader.h"
#include "trace/fpu_digest.h"
#include "trace/machine.h"
#include "util/fatal.h"
#include "util/invariant.h"
#include "util/io.h"

extern char** environ;

#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

namespace rr {

namespace {

// The CPU time thread `tid` of process `tgid` has used, in ns (the first
// field of its schedstat); 0 when it cannot be read (the thread is gone).
uint64_t thread_cpu_ns(pid_t tgid, pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", tgid, tid);
  FILE* f = fopen(path, "re");
  if (!f) return 0;
  unsigned long long ns = 0;
  if (fscanf(f, "%llu", &ns) != 1) ns = 0;
  fclose(f);
  return ns;
}

}  // namespace


namespace {

// Recording also stops at every exec (replay rebuilds images instead).
constexpr long kPtraceOptions = kTraceeOptions | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEVFORKDONE;


// waitpid for any tracee, giving up after `timeout`. SIGCHLD is blocked in
// the recorder and waited for with sigtimedwait, so that a stop that
// arrives between the check and the wait is not missed. Returns false on
// timeout; *pid is -1 when no tracee is left at all.
bool wait_any(std::chrono::milliseconds timeout, pid_t* pid, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  for (;;) {
    pid_t p = waitpid(-1, status, WNOHANG | __WALL);
    if (p > 0) {
      *pid = p;
      return true;
    }
    if (p < 0 && errno == ECHILD) {
      *pid = -1;
      return false;
    }
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::nanoseconds(0) || OutsideSignals::pending()) {
      *pid = 0;
      return false;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    sigtimedwait(&chld, nullptr, &ts);
  }
}


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

// Points latest-trace at `dir` (a name under the trace root, else a path);
// an empty `dir` removes the link. Returns what it pointed at before.
std::string update_latest_link(const std::string& dir) {
  std::string root = trace_root();
  std::string link = root + "/latest-trace";
  char before[PATH_MAX] = {};
  ssize_t n = readlink(link.c_str(), before, sizeof(before) - 1);
  std::string previous = n > 0 ? std::string(before, n) : "";
  if (dir.empty()) {
    unlink(link.c_str());
    return previous;
  }
  std::string tmp = link + ".tmp." + std::to_string(getpid());
  std::string target = dir;
  if (dir.rfind(root + "/", 0) == 0) target = dir.substr(root.size() + 1);
  unlink(tmp.c_str());
  if (symlink(target.c_str(), tmp.c_str()) == 0 && rename(tmp.c_str(), link.c_str()) != 0) unlink(tmp.c_str());
  return previous;
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


RecordSession::RecordSession(std::unique_ptr<TraceWriter> writer, std::string exe_path, int spin_limit_ms)
    : writer_(std::move(writer)),
      files_(writer_->dir(), FileCache(FileCache::default_dir())),
      exe_path_(std::move(exe_path)),
      spin_limit_ms_(spin_limit_ms),
      bound_cpu_(choose_cpu()) {
  // The tracees inherit rr's stdout and stderr.
  for (int fd : {1, 2}) {
    struct stat st;
    if (fstat(fd, &st) == 0) output_files_[fd - 1] = {st.st_dev, st.st_ino};
  }
}

RecordSession::~RecordSession() {
  // The copying writer's job reads the copies: they go first, and the job
  // ends with them.
  std::vector<Task*> copies;
  for (ProcessCopy& c : copies_) copies.push_back(c.task.get());
  copies_cancelled_ = true;
  if (!copies.empty()) kill_and_reap({}, copies);
  if (copy_thread_.joinable()) copy_thread_.join();
  kill_processes(std::nullopt);
}

Result<int> RecordSession::record(const RecordOptions& options) {
  RR_ASSIGN_OR_RETURN(std::string exe, find_program(options.argv[0]));
  RR_ASSIGN_OR_RETURN(StateOption state_opt, state_option());
  std::string dir = options.output_dir.empty() ? next_trace_dir(exe) : options.output_dir;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceWriter> writer, TraceWriter::create(dir));
  // Tracee stops are waited for with sigtimedwait (see wait_any).
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  RecordSession session(std::move(writer), exe, options.spin_limit_ms);
  session.progress_counter_ = options.progress_counter;
  if (options.progress_counter) {
    session.plans_.keep_in(PlanStore(PlanStore::default_dir()));
    session.images_ = CodeImageStore(PlanStore::default_dir());
  }
  session.syscall_buffer_ = options.syscall_buffer;
  session.inherited_seccomp_ = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) > 0 ? SECCOMP_MODE_FILTER : 0;
  session.inherited_no_new_privs_ = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) > 0 ? 1 : 0;
  session.timeslice_ = options.timeslice;
  session.use_state_option(state_opt);
  session.wait_for_all_ = options.wait_for_all;
  session.chaos_ = options.chaos;
  session.chaos_rng_.seed(options.chaos_seed);
  session.checkpoint_every_ = options.checkpoint_every;
  session.on_point_ = options.on_copy_point ? CheckpointPointHook() : options.on_point;
  session.on_copy_point_ = options.on_copy_point;
  session.share_missed_points_ = options.share_missed_points;
  // The copying writer writes replay's counters, which the frames give.
  if (options.on_copy_point && options.checkpoint_every.on() && !session.counter_model_)
    session.counter_model_ = std::make_unique<ReplayCounterModel>();
  session.next_point_event_ = options.checkpoint_every.events;
  session.next_point_time_ = std::chrono::steady_clock::now() +
                             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(options.checkpoint_every.seconds));
  RR_TRY(session.write_header(options));
  // latest-trace names the new trace while it is recorded (a recording
  // that is killed can be replayed up to its last event), and goes back to
  // the one before if recording fails.
  // (also when a fatal error unwinds from here).
  std::optional<std::string> previous_latest;
  bool keep_latest = false;
  KJ_DEFER(if (previous_latest && !keep_latest) update_latest_link(*previous_latest));
  if (options.output_dir.empty()) previous_latest = update_latest_link(dir);
  RR_TRY(session.spawn(options));
  Result<int> status = session.run();
  // The copying writer's last job: its checkpoint, then its copies.
  session.end_copy_job(true, false);
  Status fin = status.ok() ? session.tell_point_before_exit() : Status{};
  session.recording_ended_ = true;
  if (fin.ok() && status.ok()) fin = session.copy_point_missed();
  // The list before the end mark: a trace that reads as finished has it
  // (the checkpoint writer of --checkpoint-every may open the trace now).
  if (fin.ok()) fin = session.write_shared_files();
  if (fin.ok()) fin = session.writer_->finish();
  if (!status.ok()) return status;
  if (!fin.ok()) return fin.take_error();
  keep_latest = true;
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
  uuid_.assign(reinterpret_cast<const char*>(uuid), 16);
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
  machine_to_header(this_machine(), h);
  if (options.chaos) {
    h.setChaos(true);
    h.setChaosSeed(options.chaos_seed);
  }
  struct utsname u;
  if (uname(&u) == 0) h.setKernelRelease(u.release);
  h.setBoundCpu(bound_cpu_);
  // The program inherits rr's limits.
  struct rlimit stack;
  if (getrlimit(RLIMIT_STACK, &stack) == 0) {
    auto limit = h.initStackLimit();
    limit.setCur(stack.rlim_cur);
    limit.setMax(stack.rlim_max);
  }
  return writer_->write_header(msg);
}

Status RecordSession::spawn(const RecordOptions& options) {
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) env_store.push_back(*e);
  for (const char* e : kDeterminismEnv) env_store.push_back(e);
  std::string lib;
  if (syscall_buffer_) {
    RR_TRY(write_preload_library(&lib));
    syscall_buffer_ = !lib.empty();
    preload_path_ = lib;
  }
  if (syscall_buffer_) {
    std::string preload = "LD_PRELOAD=" + lib;
    for (auto& e : env_store)
      if (e.rfind("LD_PRELOAD=", 0) == 0) {
        preload += ":" + e.substr(strlen("LD_PRELOAD="));
        e.clear();
      }
    std::erase(env_store, std::string());
    env_store.push_back(preload);
  }
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
    prepare_tracee_process(bound_cpu_);
    stop_for_tracer();
    if (syscall_buffer_) {
      if (int e = install_syscall_buffer_filter()) {
        e = -e;  // told apart from execve's errors
        (void)!write(err_pipe[1], &e, sizeof(e));
        _exit(127);
      }
    }
    execve(exe_path_.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!write(err_pipe[1], &e, sizeof(e));
    _exit(127);
  }
  close(err_pipe[1]);
  ScopedFd err_fd(err_pipe[0]);
  auto owned = std::make_unique<RecordTask>();
  long options_used = kPtraceOptions | (syscall_buffer_ ? PTRACE_O_TRACESECCOMP : 0);
  RR_ASSIGN_OR_RETURN(owned->task, attach_new_tracee(pid, RecordedTid{pid}, options_used, "the program's process"));
  RecordTask& t = add_process(std::move(owned), std::make_shared<FdTable>());
  t.seccomp_events = syscall_buffer_;
  initial_tgid_ = t.recorded();
  Task* task = t.task.get();
  // Run to the end of execve.
  bool exec_seen = false;
  for (;;) {
    task->resume(ResumeHow::Syscall);
    WaitStatus st = task->wait();
    if (st.ended()) {
      int e = 0;
      if (read(err_fd.get(), &e, sizeof(e)) == (ssize_t)sizeof(e)) {
        if (e < 0) return make_error("cannot install the syscall buffer's seccomp filter: " + std::string(strerror(-e)));
        return make_error("cannot execute " + exe_path_ + ": " + strerror(e));
      }
      return make_error("the program ended before it started: " + st.describe());
    }
    if (st.ptrace_event() == PTRACE_EVENT_EXEC) {
      exec_seen = true;
      task->reopen_mem();
      continue;
    }
    if (exec_seen && st.is_syscall_stop() && !task->at_syscall_entry()) break;
  }
  // SIGSEGV and SIGILL as the program starts with them: the mask and an
  // ignored disposition survive execve (a handler does not).
  constexpr uint64_t kTrapBits = (1ull << (SIGSEGV - 1)) | (1ull << (SIGILL - 1));
  t.trap_blocked = task->blocked_signals() & kTrapBits;
  if (auto status = read_file("/proc/" + std::to_string(pid) + "/status"); status.ok()) {
    size_t at = status.value().find("\nSigIgn:");
    uint64_t ignored = at == std::string::npos ? 0 : strtoull(status.value().c_str() + at + 8, nullptr, 16);
    for (int sig : {SIGSEGV, SIGILL})
      if (ignored & (1ull << (sig - 1))) t.traps->of(sig).handler = reinterpret_cast<uint64_t>(SIG_IGN);
  }
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(task->tid());
  auto exec = frame.initExec();
  on_exec_done(t, exec);
  if (progress_counter_ && !t.died_in_calls) RR_TRY(install_progress_counter(t, exec));
  if (t.died_in_calls) return make_error("the program's process was killed as it started");
  RR_TRY(install_random_sites(t, exec));
  t.state = RecordTask::State::Ready;
  return finish_frame(msg);
}

// Files the program mapped shared and writable: replay gives all mappings of
// such a file one shared copy, so writes through one show in the others.
Status RecordSession::write_shared_files() {
  std::string text;
  for (const std::string& f : shared_files_) text += f + "\n";
  return writer_->write_part("shared-files", text.data(), text.size());
}

Status RecordSession::finish_frame(capnp::MessageBuilder& msg) {
  RecordTask* records_of = nullptr;
  if (syscall_buffer_) {
    // The records belong to the one thread that ran user code since the
    // buffer was last emptied: the running one.
    auto frame = msg.getRoot<trace::Frame>();
    if (RecordTask* t = find_task(RecordedTid{frame.getTid()})) {
      if (t == running_) RR_TRY(take_buffered_records(*t));
      if (!t->buffered_records.empty()) {
        // Referenced, not copied (records are whole words): the buffer
        // keeps its bytes until the frame is written, and its capacity after.
        frame.adoptSyscallBuffer(msg.getOrphanage().referenceExternalData(
            capnp_bytes(t->buffered_records.data(), t->buffered_records.size())));
        records_of = t;
      }
      // A task's end carries none: replay may find its memory gone.
      if (!t->gate_written.empty() && frame.which() != trace::Frame::EXIT) {
        frame.setFdGate(capnp_bytes(t->gate_written));
        t->gate_written.clear();
      }
    }
  }
  if (!locked_buffers_.empty()) {
    auto frame = msg.getRoot<trace::Frame>();
    auto list = frame.initLockedBuffers((unsigned)locked_buffers_.size());
    for (unsigned i = 0; i < locked_buffers_.size(); ++i) list.set(i, locked_buffers_[i]);
    locked_buffers_.clear();
  }
  ++next_event_;
  ++slice_events_;
  {
    auto frame = msg.getRoot<trace::Frame>();
    if (!(frame.isProgress() && frame.getProgress().getPoll())) ++changes_;
    if (!frame_ends_a_task(frame))
      exit_run_start_ = 0;
    else if (exit_run_start_ == 0)
      exit_run_start_ = next_event_ - 1;
  }
  Status written = writer_->write_frame(msg);
  if (records_of) records_of->buffered_records.clear();
  RR_TRY(std::move(written));
  if (counter_model_) note_frame_for_state(msg.getRoot<trace::Frame>());
  RR_TRY(note_copy_point(msg.getRoot<trace::Frame>()));
  return note_checkpoint_point(next_event_ - 1);
}

// --checkpoint-every: a point is the event whose frame was just written
// when its turn came; the hook hears of it once the next frame is written
// too (replay looks one frame ahead), after both are flushed to the file.
// A point inside a run of frames that end tasks waits for the run's end:
// if a frame of another kind follows, the point is told (the replay
// writes its checkpoint at the first event after it where one can be
// written); if the trace ends, the run was the program's exit, and the
// event just before it stands for the point (tell_point_before_exit).
Status RecordSession::note_checkpoint_point(uint64_t written) {
  if (!on_point_ || !checkpoint_every_.on()) return {};
  if (point_pending_ && written > *point_pending_ && !(exit_run_start_ != 0 && exit_run_start_ <= *point_pending_))
    RR_TRY(tell_point(*point_pending_));
  if (point_pending_) return {};
  if (point_due(written)) point_pending_ = written;
  return {};
}

bool RecordSession::point_due(uint64_t written) {
  if (checkpoint_every_.events > 0 && written >= next_point_event_) {
    while (next_point_event_ <= written) next_point_event_ += checkpoint_every_.events;
    return true;
  }
  if (checkpoint_every_.seconds > 0 && std::chrono::steady_clock::now() >= next_point_time_) {
    next_point_time_ = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                           std::chrono::duration<double>(checkpoint_every_.seconds));
    return true;
  }
  return false;
}

Status RecordSession::tell_point(uint64_t event) {
  RR_TRY(writer_->flush());
  if (shared_files_.size() != shared_files_written_) {
    RR_TRY(write_shared_files());
    shared_files_written_ = shared_files_.size();
  }
  on_point_(writer_->dir(), event, shared_files_.size());
  point_pending_.reset();
  return {};
}

Status RecordSession::tell_point_before_exit() {
  if (!on_point_ || !point_pending_ || exit_run_start_ <= 1 || exit_run_start_ > *point_pending_) return {};
  return tell_point(exit_run_start_ - 1);
}

// The scheduler. At most one thread runs user code (running_); the others
// are stopped by ptrace or inside syscalls. A thread gives up its turn when
// its syscall blocks, when it calls sched_yield, after kSliceEvents events
// while others are ready, and when it ends.
Result<int> RecordSession::run() {
  // A leader that ended before its threads is still to be reaped, and its
  // end is its process's exit status.
  while (!tasks_.empty() || has_zombies()) {
    try {
      Result<bool> go_on = run_once();
      if (!go_on.ok() && ended_under_handling()) continue;
      if (!go_on.ok()) return go_on.take_error();
      if (!*go_on) break;
    } catch (const FatalError&) {
      if (!ended_under_handling()) throw;
    }
  }
  if (!initial_ended_) return make_error("the program's main process ended without an exit status");
  if (WIFEXITED(initial_status_)) return WEXITSTATUS(initial_status_);
  if (WIFSIGNALED(initial_status_)) return 128 + WTERMSIG(initial_status_);
  return 1;
}

bool RecordSession::ended_under_handling() {
  RecordTask* t = running_;
  RR_LOG("a failure while the recorder handled task %d: was it killed?", t ? t->tid() : 0);
  if (!t) return false;
  Task& task = *t->task;
  const WaitStatus& last = task.last_status();
  std::optional<WaitStatus> end;
  if (!task.alive() || (last.stopped() && last.ptrace_event() == PTRACE_EVENT_EXIT)) {
    // A wait of the recorder's own (an injected call's) saw the end.
    end = last;
  } else {
    if (!task.held()) {
      RR_LOG("task %d is not held in a stop", t->tid());
      return false;
    }
    // The recorder took the stop it holds the task in: any status the task
    // reports now is a new stop, which only a SIGKILL brings (it wakes the
    // task, which goes to its exit stop). A task still held answers any
    // ptrace request; one on its way out refuses with ESRCH until it
    // reaches that stop. is_end takes a status reported now: the end on
    // its way (true), or another stop, kept for the loop (false).
    auto is_end = [&](int status) {
      WaitStatus st(status);
      if (!st.ended() && st.ptrace_event() != PTRACE_EVENT_EXIT) {
        stash_status(t->tid(), status);
        return false;
      }
      end = st;
      return true;
    };
    for (int i = 0; i < 10000 && !end; ++i) {
      int status;
      pid_t r = waitpid(t->tid(), &status, __WALL | WNOHANG);
      if (r < 0) return false;
      if (r == t->tid()) {
        if (!is_end(status)) return false;
        break;
      }
      unsigned long msg;
      if (ptrace(PTRACE_GETEVENTMSG, t->tid(), nullptr, &msg) == 0) {
        // In a ptrace stop: still held, or at its exit stop just reached.
        if (waitpid(t->tid(), &status, __WALL | WNOHANG) != t->tid() || !is_end(status)) return false;
        break;
      }
      if (errno != ESRCH) return false;
      usleep(1000);
    }
    if (!end) return false;
  }
  RR_LOG("task %d was killed while the recorder handled its stop: its event is dropped", t->tid());
  if (task.alive() || end->ended()) stash_status(t->tid(), end->raw());
  if (running_ == t) running_ = nullptr;
  return true;
}

Result<bool> RecordSession::run_once() {
  // The copying writer's copies go as soon as its job has ended.
  end_copy_job(false, false);
  RR_TRY(handle_outside_signals());
  kill_rest_after_initial();
  kill_deferred_tracees();
  continue_group_stops();
  if (progress_counter_) wake_pollers();
  if (!running_) {
    if (RecordTask* next = pick_next()) {
      running_ = next;
      last_scheduled_ = next->recorded();
      slice_events_ = 0;
      if (next->state == RecordTask::State::Unprocessed) {
        RR_TRY(handle_stop(*next));
      } else {
        RR_TRY(resume_running(*next));
        // Resumed inside a syscall (from a tracer's stop there, a vfork
        // parent's event): it may block in it, and the others run then.
        if (running_ == next && next->in_syscall) RR_TRY(settle_syscall(*next));
      }
      return true;
    }
  }
  pid_t pid;
  int status;
  if (!wait_any(std::chrono::milliseconds(250), &pid, &status)) {
    if (pid < 0) return false;  // no tracee left
    kick_blocked_buffered_call();
    RR_TRY(check_long_run());
    return true;
  }
  if (Task* copy = copy_task(pid)) {
    // A copy of a process (the copying writer's): it never runs; a signal
    // to its process group stops it, its end is its own.
    copy->note_status(WaitStatus(status));
    return true;
  }
  stash_status(pid, status);
  if (int sig = WaitStatus(status).stop_sig()) last_stop_with_[sig] = std::chrono::steady_clock::now();
  RecordTask* found = find_task(RecordedTid{pid});
  if (!found) return true;
  RecordTask& t = *found;
  if (&t != running_) kick_blocked_buffered_call();
  if (&t == running_ && t.state == RecordTask::State::Unprocessed) {
    RR_TRY(handle_stop(t));
  } else if (running_ && running_->in_syscall && (!running_->entry_recorded || running_->traced.by.value) &&
             others_ready(*running_)) {
    // Another thread became ready while the running one is in a syscall:
    // let it run if that syscall blocks.
    RR_TRY(settle_syscall(*running_));
  }
  return true;
}

// The second interrupt's kill, by process (a leader that ended before its
// threads is no task any more). A thread whose syscall is in the kernel and
// does not wait is let finish it first, as its exit stop comes at once: a
// write the kernel has done would otherwise be on stdout and missing from the
// trace, and replay would print less than the recording did.
void RecordSession::kill_tracees() {
  RecordTask* flight = running_ && running_->in_syscall && !running_->entry_recorded ? running_ : nullptr;
  if (flight) {
    char state = proc_state(flight->tid());
    if (state == 'S' || state == 'D' || state == 0) flight = nullptr;  // it waits: nothing done yet
  }
  bool deferred = false, exiting = false;
  for (const auto& [tid, t] : tasks_) {
    if (flight && t->tgid == flight->tgid) {
      deferred = true;
    } else if (ending_by_itself(*t)) {
      // Its exit_group is recorded: it ends with its own status, which
      // replay reproduces; a kill now would race with that exit.
      exiting = true;
    } else {
      kill_process_of(*t);
    }
  }
  if (deferred || exiting)
    kill_deferred_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(exiting ? 2000 : 500);
}

bool RecordSession::ending_by_itself(const RecordTask& t) const {
  return exiting_groups_.count(t.tgid) && !killed_.count(t.tgid);
}

void RecordSession::kill_process_of(const RecordTask& t) {
  if (!killed_.insert(t.tgid).second) return;
  kill(t.live_tgid(), SIGKILL);
  // Nothing its threads do from now on is an event: a stop already waited
  // for is stale (the task has left it), and each one's end comes next.
  exiting_groups_.insert(t.tgid);
}

void RecordSession::kill_rest_after_initial() {
  if (!wait_for_all_ && !rest_killed_ && initial_ended_ && thread_count(initial_tgid_) == 0 &&
      !zombie(initial_tgid_)) {
    rest_killed_ = true;
    kill_tracees();
  }
  // A process forked by one being killed, before its kill, is killed too.
  if ((rest_killed_ || stopping_) && !kill_deferred_until_)
    for (const auto& [tid, t] : tasks_) kill_process_of(*t);
}

void RecordSession::kill_deferred_tracees() {
  if (!kill_deferred_until_) return;
  bool waiting = running_ && running_->in_syscall;
  for (const auto& [tid, t] : tasks_) waiting = waiting || ending_by_itself(*t);
  if (waiting && std::chrono::steady_clock::now() < *kill_deferred_until_) return;
  kill_deferred_until_.reset();
  for (const auto& [tid, t] : tasks_) kill_process_of(*t);
}

void RecordSession::stash_status(pid_t pid, int status) {
  WaitStatus st(status);
  RecordedTid recorded{pid};  // while recording, a task's live tid is its recorded one
  RecordTask* t = find_task(recorded);
  Task* zombie_leader = zombie(recorded);
  if (st.ptrace_event() == PTRACE_EVENT_EXEC && (t || zombie_leader)) {
    RecordedTid former{(pid_t)(t ? *t->task : *zombie_leader).event_msg()};
    if (former != recorded && find_task(former)) return adopt_exec_thread(recorded, former, status);
  }
  if (zombie_leader) {
    // A leader that exited before its threads ends for good with the last of them.
    zombie_leader->note_status(st);
    if (st.ended()) {
      if (recorded == initial_tgid_) initial_status_ = st.raw();
      take_zombie(recorded);
      if (thread_count(recorded) == 0) {
        exiting_groups_.erase(recorded);
        killed_.erase(recorded);
      }
    } else {
      zombie_leader->try_resume(ResumeHow::Cont);
    }
    return;
  }
  if (!t) {
    // A new task's first stop, before its parent's clone event; or the end
    // of a task already forgotten (threads gone at an exec).
    if (st.stopped()) early_stops_[pid] = status;
    return;
  }
  t->task->note_status(st);
  t->pending = st;
  t->state = RecordTask::State::Unprocessed;
}

void RecordSession::adopt_exec_thread(RecordedTid tgid, RecordedTid former, int status) {
  std::unique_ptr<RecordTask> execer = take_task(former);
  // The leader (or, if it has exited already, its zombie) gives the execing
  // thread its tid. Its end is part of the exec event, as other threads' ends are.
  std::unique_ptr<Task> leader_thread;
  if (std::unique_ptr<RecordTask> leader = take_task(tgid)) {
    if (running_ == leader.get()) running_ = nullptr;
    open_echo_gate(*leader);
    // Signals held for the leader were sent to the process; exec keeps them.
    for (const siginfo_t& si : leader->held) execer->held.push_back(si);
    leader_thread = std::move(leader->task);
  } else {
    leader_thread = take_zombie(tgid);
  }
  execer->task->mark_dead();
  execer->task = std::move(leader_thread);
  execer->exec_former_tid = former;
  execer->pending = WaitStatus(status);
  execer->task->note_status(execer->pending);
  execer->state = RecordTask::State::Unprocessed;
  add_task(std::move(execer));
}

bool RecordSession::others_ready(const RecordTask& t) const {
  for (const auto& [tid, o] : tasks_)
    if (o.get() != &t && (o->state == RecordTask::State::Ready || o->state == RecordTask::State::Unprocessed)) return true;
  return false;
}

RecordTask* RecordSession::pick_next() {
  if (chaos_) return pick_by_chaos();
  auto ready = [](const RecordTask& t) {
    return t.state == RecordTask::State::Ready || t.state == RecordTask::State::Unprocessed;
  };
  for (auto it = tasks_.upper_bound(last_scheduled_); it != tasks_.end(); ++it)
    if (ready(*it->second)) return it->second.get();
  for (auto it = tasks_.begin(); it != tasks_.end() && it->first <= last_scheduled_; ++it)
    if (ready(*it->second)) return it->second.get();
  return nullptr;
}

void RecordSession::remove_task(RecordedTid tid) {
  RecordTask* t = find_task(tid);
  if (!t) return;
  if (running_ == t) running_ = nullptr;
  open_echo_gate(*t);
  RecordedTid tgid = t->tgid;
  if (t->desched_fd >= 0 && !exiting_groups_.count(tgid)) orphan_desched_[tgid].push_back(t->desched_fd);
  forget_task(tid);
  if (thread_count(tgid) == 0) tracer_ended(tgid);
  // A tracer waiting at its entry looks again: the end may be its child's.
  for (auto& [other, o] : tasks_)
    if (o->state == RecordTask::State::TracerWaiting) o->state = RecordTask::State::Unprocessed;
  if (thread_count(tgid) == 0) orphan_desched_.erase(tgid);
  if (thread_count(tgid) == 0 && !zombie(tgid)) {
    exiting_groups_.erase(tgid);
    killed_.erase(tgid);  // its pid may come back for a process forked meanwhile
  }
}

Status RecordSession::resume_running(RecordTask& t) {
  t.state = RecordTask::State::Running;
  running_ = &t;
  if (t.pending_signal_frame) {
    // The signal event is written once delivery shows whether a handler
    // ran and what the kernel saved in its frame.
    HandlerEntry entry = deliver_to_handler(*t.task, t.deliver_sig);
    // Delivered, entered or not (a handler whose frame cannot be written):
    // the kernel may have reset the action.
    note_known_delivery(t, t.deliver_sig);
    if (entry.entered()) {
      // The delivery may have dropped the signal stack (SS_AUTODISARM).
      t.own_kernel_state.reset();
      track_segv_at_handler(t, t.deliver_sig);
      FrameKernelState state = read_frame_state(*t.task);
      auto ev = t.pending_signal_frame->getRoot<trace::Frame>().getSignal();
      ev.setFrameFpu(capnp_bytes(state.fpu));
      ev.setFrameErr(state.err);
      ev.setFrameTrapno(state.trapno);
      ev.setFrameCr2(state.cr2);
      t.deliver_sig = 0;
    }
    // Numbered as it is written: a delivery a tracer asked for was prepared
    // before the tracer's own call's event.
    t.pending_signal_frame->getRoot<trace::Frame>().setEvent(next_event_);
    RR_TRY(finish_frame(*t.pending_signal_frame));
    t.pending_signal_frame.reset();
    if (entry.kind == HandlerEntry::Kind::Refused) {
      // The SIGSEGV the kernel forced is the task's next stop, already
      // reached: it is handled (and recorded) as any signal.
      t.deliver_sig = 0;
      t.pending = entry.stop;
      t.state = RecordTask::State::Unprocessed;
      return handle_stop(t);
    }
  }
  if (!t.in_syscall) {
    t.cpu_ns_sampled = 0;
    t.ran_since = std::chrono::steady_clock::now();
    refresh_fd_gate(t);
    bool orphans = !orphan_desched_.empty() && !exiting_groups_.count(t.tgid);
    // Reads for copies: not in a thread with a filter of the program's,
    // which could refuse or trap the calls, nor in one traced inside the
    // recording, whose signals must reach its tracer in order (a SIGCONT
    // that came during the calls was held for later, and strace -f lost
    // its child): copies refuse both anyway.
    bool reads = copies_held() && !t.own_seccomp && !t.traced.by.value && !exiting_groups_.count(t.tgid);
    // No call inside it at the end of an interrupted wait that put in a
    // signal mask of its own (holds_call_sigmask): these wait for its
    // next resume. Its registers are read only when a call is due.
    bool keeps_mask = (t.desched_wanted || orphans || reads) && holds_call_sigmask(*t.task);
    if (t.desched_wanted && !keeps_mask) open_desched(t, t.desched_fd);
    if (orphans && !keeps_mask) close_orphan_desched(t);
    if (reads && !keeps_mask) {
      if (!t.own_kernel_state && !t.own_kernel_state_unread) read_own_kernel_state(t);
      if (t.state != RecordTask::State::Unprocessed && t.may_read_process()) read_process_known(t);
    }
    // Killed while the recorder made calls inside it: its end is next.
    if (t.state == RecordTask::State::Unprocessed) return handle_stop(t);
  }
  arm_for_stretch(t);
  int sig = t.deliver_sig;
  t.deliver_sig = 0;
  // Delivered as it runs: the handler's entry may drop the signal stack,
  // and reset the handler.
  if (sig != 0) {
    t.own_kernel_state.reset();
    note_known_delivery(t, sig);
  }
  // A tracer inside the recording asked for one instruction (record_ptrace.cc).
  // With the syscall buffer, its filter stops the traced calls: user code
  // runs under PTRACE_CONT, and a call's exit is reached with PTRACE_SYSCALL.
  ResumeHow how = t.traced.step                                     ? ResumeHow::SingleStep
                  : syscall_buffer_ && !t.in_syscall && !t.unbuffered ? ResumeHow::Cont
                                                                      : ResumeHow::Syscall;
  t.traced.stepped = t.traced.step;
  t.traced.step = false;
  t.task->try_resume(how, sig);  // a dying task reports its end next
  return {};
}

Status RecordSession::handle_stop(RecordTask& t) {
  WaitStatus st = t.pending;
  if (t.spin_regs && still_parked(t, st)) return {};
  t.state = RecordTask::State::Running;
  running_ = &t;
  if (st.ended()) return on_task_end(t, st, false);
  int event = st.ptrace_event();
  if (event == PTRACE_EVENT_EXIT) {
    if (t.traced.by.value && (t.traced.options & PTRACE_O_TRACEEXIT) && !t.traced.exit_shown) {
      t.traced.event_msg = t.task->event_msg();
      return enter_tracer_stop(t, RecordTask::Traced::Stop::Event, (PTRACE_EVENT_EXIT << 16) | (SIGTRAP << 8) | 0x7f,
                               siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_EXIT << 8), t));
    }
    return on_task_end(t, WaitStatus((int)t.task->event_msg()), true);
  }
  if (exiting_groups_.count(t.tgid)) {
    // Its process is being killed: nothing it does now is an event.
    t.task->try_resume(ResumeHow::Cont);
    t.state = RecordTask::State::InKernel;
    running_ = nullptr;
    return {};
  }
  if (event == PTRACE_EVENT_SECCOMP) {
    // The syscall buffer's filter traced the call: this is its entry, unless
    // a PTRACE_SYSCALL entry stop came first (a task that is unbuffered);
    // then the call runs on from here and may block, as after the entry.
    if (!t.in_syscall) {
      // Which table the call is in: a seccomp stop comes before any
      // syscall stop, and `int $0x80` must be refused by its 32-bit number.
      (void)t.task->at_syscall_entry();
      return on_syscall_entry(t);
    }
    if (t.task->event_msg() != kBufferFilterData && !(t.traced.by.value && (t.traced.options & PTRACE_O_TRACESECCOMP))) {
      // The program's own filter returned SECCOMP_RET_TRACE, and no tracer
      // of its takes seccomp stops: the kernel would fail the call with
      // ENOSYS, had rr not asked for the stops itself. The call is skipped
      // here as the kernel would skip it.
      Registers r = t.task->regs();
      r.set_syscallno(-1);
      r.set_syscall_result(-ENOSYS);
      t.task->set_regs(r);
      t.answered = -ENOSYS;
    }
    t.task->try_resume(ResumeHow::Syscall);
    if (others_ready(t)) return settle_syscall(t);
    return {};
  }
  if (st.is_syscall_stop()) {
    if (syscall_buffer_ && !t.in_syscall && t.task->regs().ip() == RemotePtr<>(RR_BUFFERED_ENTRY_AFTER_SYSCALL)) {
      // A buffered call seen by a PTRACE_SYSCALL resume: it is no event.
      t.task->try_resume(t.unbuffered ? ResumeHow::Syscall : ResumeHow::Cont);
      return {};
    }
    if (t.task->at_syscall_entry()) return on_syscall_entry(t);
    if (!t.in_syscall) return resume_running(t);  // a new task's return from clone
    return on_syscall_exit(t);
  }
  switch (event) {
    case 0:
      break;
    case PTRACE_EVENT_EXEC:
      return on_exec_event(t);
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      return on_new_task(t, event);
    case PTRACE_EVENT_VFORK_DONE:
      if (t.traced.by.value && (t.traced.options & PTRACE_O_TRACEVFORKDONE)) {
        // Its tracer sees the stop, inside the call: the entry is an event.
        if (!t.entry_recorded) RR_TRY(record_entry(t));
        if (echo_writer_ == &t) echo_writer_ = nullptr;
        t.traced.event_msg = t.task->event_msg();
        if (RecordTask* child = find_task(RecordedTid{(pid_t)t.traced.event_msg}))
          t.traced.event_msg = pid_for_tracer(t, *child);
        return enter_tracer_stop(t, RecordTask::Traced::Stop::Event,
                                 (PTRACE_EVENT_VFORK_DONE << 16) | (SIGTRAP << 8) | 0x7f,
                                 siginfo_for_trap(SIGTRAP | (PTRACE_EVENT_VFORK_DONE << 8), t));
      }
      RR_TRY(resume_running(t));
      return settle_syscall(t);
    default:
      return make_error("unexpected ptrace event " + std::to_string(event) + " in task " + std::to_string(t.tid()));
  }
  int sig = st.stop_sig();
  if (sig && is_desched_stop(t, sig)) return on_desched(t);
  if (sig && syscall_buffer_ && !t.unbuffered) abort_interrupted_buffered_call(t);
  bool stepped = t.traced.stepped;
  t.traced.stepped = false;
  if (sig == SIGTRAP && progress_counter_) {
    // A tracer's step that took a counted branch lands where the branch goes.
    if (stepped) step_past_counter_stub(*t.task);
    Registers regs = t.task->regs();
    if (at_counter_trap(*t.task, regs)) return on_counter_trap(t, regs);
    if (at_spin_site(*t.task, regs)) return on_spin_trap(t, regs);
    if (std::optional<PollSite> site = poll_site_at(*t.task, regs)) return on_poll_trap(t, *site, regs);
  }
  if (our_wakeup(t, sig)) return resume_running(t);  // it came after another stop: nothing to undo
  if (our_sigstop(t, sig, t.nudge_kicked)) return on_nudge(t);
  if (sig && is_stop_signal(sig) && !t.task->try_siginfo()) return on_group_stop(t);
  if (sig) return on_signal(t, sig);
  return resume_running(t);
}

// The task stays stopped, as it would natively: its parent's waits see it
// stopped (the kernel keeps the process's stopped state while ptrace holds
// the task), and nothing here is an event: replay gives the stop signal no
// effect (it has none on the task's own state) and runs the task again at
// its next recorded event.
Status RecordSession::on_group_stop(RecordTask& t) {
  RR_LOG("task %d: group stop", t.tid());
  if (t.traced.by.value) {
    // Its tracer sees the group stop and resumes it from there.
    int sig = WSTOPSIG(t.pending.raw());
    t.traced.group_stop_sig = sig;
    int status = t.traced.seized ? (PTRACE_EVENT_STOP << 16) | (sig << 8) | 0x7f : (sig << 8) | 0x7f;
    return enter_tracer_stop(t, RecordTask::Traced::Stop::Group, status, siginfo_t{});
  }
  t.state = RecordTask::State::GroupStopped;
  if (running_ == &t) running_ = nullptr;
  return {};
}

void RecordSession::continue_group_stops() {
  constexpr uint64_t kCont = 1ull << (SIGCONT - 1), kKill = 1ull << (SIGKILL - 1);
  std::set<RecordedTid> continued;
  for (const auto& [tid, t] : tasks_) {
    if (t->state != RecordTask::State::GroupStopped) continue;
    // A SIGCONT sent to the process is pending in the shared set of every
    // thread until one takes it: all of them are looked at before any runs.
    // A SIGKILL wakes the stopped threads by itself, and each reports its
    // exit stop: resumed by us meanwhile, one would pass that stop unseen
    // (a leader left a zombie that the recorder waited on for ever).
    uint64_t pending = try_proc_sigset(t->tid(), "ShdPnd").value_or(0) | try_proc_sigset(t->tid(), "SigPnd").value_or(0);
    if ((pending & kCont) && !(pending & kKill)) continued.insert(t->tgid);
  }
  for (const auto& [tid, t] : tasks_)
    if (t->state == RecordTask::State::GroupStopped && continued.count(t->tgid)) t->state = RecordTask::State::Ready;
}

Status RecordSession::sync_seccomp_events(RecordTask& rt) {
  bool want = syscall_buffer_ || (rt.traced.by.value && (rt.traced.options & PTRACE_O_TRACESECCOMP));
  if (rt.seccomp_events == want) return {};
  long options = kPtraceOptions | (want ? PTRACE_O_TRACESECCOMP : 0);
  if (::ptrace(PTRACE_SETOPTIONS, rt.tid(), nullptr, options) != 0)
    return make_error("cannot set the ptrace options of task " + std::to_string(rt.tid()) + ": " + errno_text());
  rt.seccomp_events = want;
  return {};
}

Status RecordSession::settle_syscall(RecordTask& t) {
  const SyscallDesc* desc = syscall_desc(t.entry_regs.syscallno());
  // A clone never blocks before it creates the task, and replay must know
  // the new task when the parent's entry is an event of its own; nor after,
  // but for a vfork: its exit is waited for, so that the entry is no event
  // of its own however slow the machine (replay can write no checkpoint
  // while a clone's entry waits for its exit, and a loaded machine made
  // that last a hundred events of a process tree). A call the
  // recorder answered runs as an invalid number, which never blocks: its
  // exit comes before any other task runs, so the changes it made to a
  // tracee (its registers, a single step) are in the trace before that
  // tracee's next event, however slow the machine is.
  if ((desc && desc->policy == ReplayPolicy::Clone && (t.new_child.value == 0 || !t.new_child_vfork)) || t.answered) {
    for (;;) {
      int status;
      pid_t p = waitpid(t.tid(), &status, __WALL);
      if (p == t.tid()) {
        stash_status(p, status);
        return handle_stop(t);
      }
      if (p < 0 && errno != EINTR) return make_error("waitpid for task " + std::to_string(t.tid()) + ": " + errno_text());
    }
  }
  if (desc && executed_in_replay(*desc)) return await_executed_call(t, *desc);
  auto start = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    int status;
    pid_t p = waitpid(t.tid(), &status, WNOHANG | __WALL);
    if (p == t.tid()) {
      stash_status(p, status);
      return handle_stop(t);
    }
    if (p < 0 && errno != EINTR) break;
    // From the 5th spin on, the task's state says whether it waits; the
    // first 100 us yield, then 20 us sleeps. Time bounds the whole poll: on
    // a loaded machine one yield can take milliseconds, long enough for a
    // short sleep to end while a ready thread was kept waiting.
    if (spins >= 4) {
      char state = proc_state(t.tid());
      if (state == 'S' || state == 'D' || state == 0) break;  // it waits for something
    }
    auto waited = std::chrono::steady_clock::now() - start;
    if (waited > std::chrono::milliseconds(2)) break;
    if (waited < std::chrono::microseconds(100)) sched_yield();
    else usleep(20);
  }
  if (t.entry_recorded) {
    // Its entry is an event already (shown to its tracer): it waits in the
    // kernel while others run.
    t.state = RecordTask::State::InKernel;
    note_held_call(t);
    if (running_ == &t) running_ = nullptr;
    if (writes_to_echo(t, t.entry_regs)) echo_writer_ = &t;
    return {};
  }
  return record_entry(t);
}

// Replay executes these calls at their exit event, one task at a time, so
// the kernel must have run them in that order while recording: a call of
// this kind in flight while another thread runs could be done by the kernel
// before that thread's own call, yet reach its exit after it (a munmap
// that frees the place where another thread's mmap then goes: replay maps
// over the old mapping with the recorded address and then unmaps both, and
// the program faults in replay only). None of them waits for another task
// (userfaultfd is refused), so the recorder waits for the exit; a bound
// keeps a file system served by a tracee (FUSE) from hanging the recording.
bool RecordSession::executed_in_replay(const SyscallDesc& desc) {
  return desc.policy == ReplayPolicy::MemoryMap || desc.policy == ReplayPolicy::ExecuteSame;
}

Status RecordSession::await_executed_call(RecordTask& t, const SyscallDesc& desc) {
  constexpr auto kBound = std::chrono::seconds(30);
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    int status;
    pid_t p = waitpid(t.tid(), &status, WNOHANG | __WALL);
    if (p == t.tid()) {
      stash_status(p, status);
      return handle_stop(t);
    }
    if (p < 0 && errno != EINTR) return make_error("waitpid for task " + std::to_string(t.tid()) + ": " + errno_text());
    auto waited = std::chrono::steady_clock::now() - start;
    if (waited > kBound)
      return make_error(ErrorKind::Unsupported,
                        "syscall " + std::string(desc.name) + " of task " + std::to_string(t.tid()) +
                            " has not returned after 30 s; replay runs it at its exit, so no other thread may run "
                            "before then, and it seems to wait for one (a file system served by a recorded process?)");
    if (waited < std::chrono::microseconds(100)) sched_yield();
    else usleep(20);
  }
}

Status RecordSession::record_entry(RecordTask& t) {
  capnp::MallocMessageBuilder msg;
  auto frame = msg.initRoot<trace::Frame>();
  frame.setEvent(next_event_);
  frame.setTid(t.tid());
  auto ev = frame.initSyscallEntry();
  ev.setNumber(t.entry_regs.syscallno());
  regs_to_capnp(t.entry_regs, ev.initRegs());
  ev.setChildTid(t.new_child.value);
  if (t.new_child.value > 0) {
    SyscallArgs call = syscall_args(t.entry_regs.syscallno(), t.entry_regs);
    TaskMemReader reader(*t.task);
    uint64_t flags = 0;
    if (clone_flags(call, reader, &flags)) ev.setCloneFlags(flags);
    auto inner = ev.initChildNsTids(t.new_child_ns_tids.size());
    for (size_t i = 0; i < t.new_child_ns_tids.size(); ++i) inner.set(i, t.new_child_ns_tids[i]);
  }
  frame.setFpuDigest(t.entry_fpu);
  t.entry_recorded = true;
  t.state = RecordTask::State::InKernel;
  note_held_call(t);
  if (running_ == &t) running_ = nullptr;
  if (writes_to_echo(t, t.entry_regs)) echo_writer_ = &t;
  return finish_frame(msg);
}

Status RecordSession::check_long_run() {
  RecordTask* t = running_;
  if (!t || t->state != RecordTask::State::Running || t->in_syscall) return {};
  // CPU time, not wall time: a thread that waits for a CPU on a loaded
  // machine has not run long. The CPU time is sampled first at this
  // function's first look during the run (a quarter second in, at most);
  // the wall time before that sample counts as CPU time. Where the CPU time
  // cannot be read, wall time counts; and a run of 20 times the limit in
  // wall time ends it anyway, so that recording never waits without end.
  auto nanos = [](auto d) { return (uint64_t)std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(); };
  uint64_t limit_ns = (uint64_t)spin_limit_ms_ * 1000000;
  auto now = std::chrono::steady_clock::now();
  uint64_t wall_ns = nanos(now - t->ran_since);
  uint64_t now_ns = thread_cpu_ns(t->live_tgid(), t->tid());
  if (t->cpu_ns_sampled == 0) {
    t->cpu_ns_sampled = now_ns;
    t->cpu_sampled_at = now;
  }
  bool cpu_known = now_ns != 0 && t->cpu_ns_sampled != 0 && now_ns >= t->cpu_ns_sampled;
  uint64_t ran_ns = cpu_known ? now_ns - t->cpu_ns_sampled + nanos(t->cpu_sampled_at - t->ran_since) : wall_ns;
  const RecordTask* waiting = nullptr;
  for (const auto& [tid, o] : tasks_)
    if (o.get() != t && (o->state == RecordTask::State::Ready || o->state == RecordTask::State::Unprocessed)) {
      waiting = o.get();
      break;
    }
  if (!waiting && t->held.empty()) return {};
  // At the first look (a quarter second without a stop): the thread is
  // asked to trap at its next counted branch (on_nudge), which ends work
  // that takes no branch for long, such as one large `rep movsb`.
  // Not while rr's SIGSTOP for a blocked buffered call is on its way (two
  // would be one stop), nor when it sleeps (it is not computing).
  if (progress_counter_ && t->ticks_armed && !t->nudged && !t->nudge_kicked && !t->desched_kicked &&
      proc_state(t->tid()) == 'R') {
    t->nudge_kicked = true;
    syscall(SYS_tgkill, t->live_tgid(), t->tid(), SIGSTOP);
    return {};
  }
  if (ran_ns < limit_ns && wall_ns < 20 * limit_ns) return {};
  // Stop it to say where it is.
  syscall(SYS_tgkill, t->live_tgid(), t->tid(), SIGSTOP);
  WaitStatus st = t->task->wait();
  char where[64] = "an unknown address";
  if (st.stopped()) snprintf(where, sizeof where, "0x%llx", (unsigned long long)t->task->regs().ip().as_int());
  double secs = ran_ns / 1e9;
  std::string why = waiting ? "while thread " + std::to_string(waiting->tid()) + " waits to run"
                            : "while signal " + std::to_string(t->held.front().si_signo) + " waits for it";
  char text[640];
  if (progress_counter_)
    snprintf(text, sizeof text,
             "thread %d has run for %.1f s%s without a syscall (now at %s) %s, and took no counted branch %s: "
             "its code is one the progress counter does not cover (it counts the branches of the .text of "
             "executables and of libraries mapped from files, not of code made at run time, and a few it cannot "
             "rewrite), so recording stops here (event %llu)",
             t->tid(), secs, cpu_known ? " of CPU time" : "", where, why.c_str(),
             t->nudged ? "since rr asked it to trap at its next one" : "in that time", (unsigned long long)next_event_);
  else
    snprintf(text, sizeof text,
             "thread %d has run for %.1f s%s without a syscall (now at %s) %s; this rr cannot switch threads "
             "or deliver signals between syscalls with --no-progress-counter, so recording stops here (event %llu)",
             t->tid(), secs, cpu_known ? " of CPU time" : "", where, why.c_str(), (unsigned long long)next_event_);
  return make_error(text);
}

Status RecordSession::on_new_task(RecordTask& parent, int event) {
  pid_t child = (pid_t)parent.task->event_msg();
  int status = 0;
  auto early = early_stops_.find(child);
  if (early != early_stops_.end()) {
    status = early->second;
    early_stops_.erase(early);
  } else {
    for (;;) {
      pid_t r = waitpid(child, &status, __WALL);
      if (r == child) break;
      if (r < 0 && errno != EINTR) return make_error("waitpid for new task " + std::to_string(child) + ": " + errno_text());
    }
  }
  WaitStatus cst(status);
  SyscallArgs call = syscall_args(parent.entry_regs.syscallno(), parent.entry_regs);
  uint64_t flags = 0;
  TaskMemReader reader(*parent.task);
  if (!clone_flags(call, reader, &flags))
    flags = event == PTRACE_EVENT_CLONE   ? CLONE_THREAD | CLONE_VM | CLONE_FILES
            : event == PTRACE_EVENT_VFORK ? CLONE_VM | CLONE_VFORK | SIGCHLD
                                          : SIGCHLD;
  auto owned = std::make_unique<RecordTask>();
  owned->task = std::make_unique<Task>(child, RecordedTid{child});
  owned->task->note_status(cst);
  RecordTask& c = add_clone(parent, std::move(owned), flags);
  c.trap_blocked = parent.trap_blocked;
  c.unbuffered = parent.unbuffered;
  if (!(flags & CLONE_VM) && parent.desched_slot) {
    // A fork copies the thread's struct rr_desched, and the events of its
    // process's threads, which count those threads: the child gets its own.
    c.desched_slot = parent.desched_slot;
    c.desched_wanted = parent.desched_fd >= 0;
    c.desched_fd = parent.desched_fd;
    for (const auto& [tid, o] : tasks_)
      if (o->tgid == parent.tgid && o->desched_fd >= 0) c.desched_inherited.push_back(o->desched_fd);
    auto orphans = orphan_desched_.find(parent.tgid);
    if (orphans != orphan_desched_.end())
      c.desched_inherited.insert(c.desched_inherited.end(), orphans->second.begin(), orphans->second.end());
  }
  c.own_seccomp = parent.own_seccomp;
  c.own_no_new_privs = parent.own_no_new_privs;
  // A thread, or a process sharing memory, starts with SS_DISABLE stored.
  c.altstack_disabled = ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) || parent.altstack_disabled;
  c.altstack_set = (flags & CLONE_VM) && !(flags & CLONE_VFORK) ? false : parent.altstack_set;
  c.shares_memory = parent.shares_memory && (flags & CLONE_THREAD);
  if ((flags & CLONE_VM) && !(flags & (CLONE_THREAD | CLONE_VFORK))) {
    c.shares_memory = true;
    for (const auto& [tid, o] : tasks_)
      if (o->tgid == parent.tgid) o->shares_memory = true;
  }
  c.counter_delta = flags & CLONE_VM ? parent.counter_delta : std::make_shared<uint64_t>(*parent.counter_delta);
  // A fork copies the actions and the layout (the break, an LDT, protection keys).
  if (flags & (CLONE_SIGHAND | CLONE_THREAD)) {
    c.known_actions = parent.known_actions;
  } else {
    c.known_actions = std::make_shared<RecordTask::ActionsKnown>(*parent.known_actions);
    c.known_actions->unread = false;
    if (flags & CLONE_CLEAR_SIGHAND) c.known_actions->actions.reset();
  }
  if (flags & CLONE_VM) {
    c.known_layout = parent.known_layout;
  } else {
    c.known_layout = std::make_shared<RecordTask::LayoutKnown>(*parent.known_layout);
    c.known_layout->unread = false;
  }
  if (flags & (CLONE_SIGHAND | CLONE_THREAD)) {
    c.traps = parent.traps;
  } else {
    c.traps = std::make_shared<RecordTask::TrapActions>(*parent.traps);
    if (flags & CLONE_CLEAR_SIGHAND)
      for (int sig : {SIGSEGV, SIGILL})
        if (c.traps->of(sig).handler != reinterpret_cast<uint64_t>(SIG_IGN)) c.traps->of(sig) = {};
  }
  if (cst.ended()) {
    c.task->note_status(cst);
    c.pending = cst;
    c.state = RecordTask::State::Unprocessed;
  } else {
    if (call.nr == SYS_clone && (call.arg[0] & CLONE_UNTRACED)) {
      // The kernel ran the call without CLONE_UNTRACED (on_syscall_entry).
      Registers cr = c.task->regs();
      cr.set_arg(0, call.arg[0]);
      c.task->set_regs(cr);
    }
    c.last_event_regs = c.task->regs();
    c.state = RecordTask::State::Ready;
  }
  parent.new_child = c.recorded();
  parent.new_child_vfork = event == PTRACE_EVENT_VFORK;
  // A task in a PID namespace the program created has a tid of its own
  // there (and one in each namespace between), which replay gives it too.
  std::vector<pid_t> ns_tids = PidNamespace::ns_tids(child);
  parent.new_child_ns_tids.assign(ns_tids.empty() ? ns_tids.end() : ns_tids.begin() + 1, ns_tids.end());
  if (ns_tids.size() > 1) {
    c.ns_ids = ns_tids;
    c.ns_chain = PidNamespace::ns_chain(child, ns_tids.size());
  }
  if (parent.traced.by.value && (parent.traced.options & (1u << event))) return trace_new_task(parent, c, event);
  RR_TRY(resume_running(parent));
  // A vfork parent waits for its child's exec or exit.
  return settle_syscall(parent);
}

Status RecordSession::on_exec_event(RecordTask& t) {
  t.exec_seen = true;
  t.task->reopen_mem();
  RecordedTid former{(pid_t)t.task->event_msg()};
  if (former != t.recorded() && former != t.exec_former_tid)
    return make_error("thread " + std::to_string(former.value) + " of process " + std::to_string(t.tgid.value) +
                      " execed, but rr did not see it as a thread of that process");
  // The kernel ended the process's other threads.
  for (RecordedTid tid : threads_of(t.tgid)) {
    if (tid == t.recorded()) continue;
    Task& o = *find_task(tid)->task;
    if (o.alive()) o.wait_until_ended();
    remove_task(tid);
  }
  exiting_groups_.erase(t.tgid);
  running_ = &t;
  return resume_running(t);
}

void RecordSession::namespace_ends(uint64_t ns) {
  if (ns == 0) return;
  for (const auto& [tid, o] : tasks_)
    if (PidNamespace::inode_of(o->tid()) == ns) exiting_groups_.insert(o->tgid);
}

Status RecordSession::on_task_end(RecordTask& t, const WaitStatus& status, bool at_exit_stop) {
  if (t.traced.by.value && !t.traced.kernel_child) note_traced_end(t, status);
  bool thread_exit = t.in_syscall && t.entry_regs.syscallno() == SYS_exit;
  // A thread ended by another thread's execve is not the end of its process.
  // (One ended in its own execve, killed before the exec's event, is.)
  bool group_in_exec = false;
  for (const auto& [tid, o] : tasks_) {
    int64_t nr = o->entry_regs.syscallno();
    group_in_exec |= o.get() != &t && o->tgid == t.tgid && o->in_syscall && (nr == SYS_execve || nr == SYS_execveat);
  }
  if (!thread_exit && !group_in_exec) exiting_groups_.insert(t.tgid);
  // Its end is part of the execve event (replay ends such threads there).
  if (group_in_exec && !thread_exit) t.exit_recorded = true;
  if (t.in_syscall && !t.entry_recorded && t.new_child.value > 0 && find_task(t.new_child)) {
    // Killed inside a fork or clone after the kernel made the child, before
    // the call's exit stop: the child lives on and its events follow, so
    // the call is an event (its entry, naming the child, which replay makes
    // there) before the end.
    RR_TRY(record_entry(t));
  }
  if (!t.exit_recorded) {
    capnp::MallocMessageBuilder msg;
    auto frame = msg.initRoot<trace::Frame>();
    frame.setEvent(next_event_);
    frame.setTid(t.tid());
    auto ex = frame.initExit();
    if (status.exited()) ex.setExitCode(status.exit_code());
    if (status.killed()) {
      ex.setKilledBy(status.term_sig());
      ex.setCoreDumped(status.core_dumped());
    }
    RR_TRY(finish_frame(msg));
    t.exit_recorded = true;
  }
  RecordedTid tid = t.recorded();
  if (tid == initial_tgid_) {
    initial_status_ = status.raw();
    initial_ended_ = true;
  }
  if (at_exit_stop) {
    // The last thread of the first process of a PID namespace.
    bool ns_init = thread_count(t.tgid) == 1 && PidNamespace::in_ns_init_process(t.tid());
    uint64_t ns = ns_init ? PidNamespace::inode_of(t.tid()) : 0;
    t.task->try_resume(ResumeHow::Cont);
    namespace_ends(ns);
    if (tid == t.tgid && thread_count(t.tgid) > 1) {
      // A leader ends for good only with its last thread; its tid word is
      // cleared before any other thread runs (Task::wait_until_zombie).
      t.task->wait_until_zombie();
      running_ = nullptr;
      open_echo_gate(t);
      keep_zombie_leader(tid);
      return {};
    }
    if (ns_init) {
      // The first process of a PID namespace ends once the kernel has
      // ended the rest of its namespace, whose ends are ours to see first.
      // Its own end is taken as it comes (it has no thread left to wake).
      remove_task(tid);
      return {};
    }
    // What the kernel does as a thread ends (clearing its tid word, waking
    // a joiner) must be done before any other thread runs.
    WaitStatus end = t.task->wait_until_ended();
    if (tid == initial_tgid_) initial_status_ = end.raw();
  }
  remove_task(tid);
  return {};
}

}  // namespace rr
