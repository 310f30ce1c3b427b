// RecordSession: runs a program under ptrace and writes its trace. Between
// two events exactly one thread runs; every syscall is recorded at its exit
// with the bytes the kernel wrote; rdtsc traps and is emulated; asynchronous
// signals are delivered only at events. See DESIGN.md section 2.
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "core/fd_table.h"
#include "core/registers.h"
#include "core/task.h"
#include "record/syscall_table.h"
#include "trace/file_store.h"
#include "trace/trace_files.h"
#include "util/result.h"

namespace rr {

struct RecordOptions {
  std::string output_dir;          // -o: the trace directory, exactly; else a new <exe>-<n>
  std::vector<std::string> argv;   // the program and its arguments
  bool quiet = false;              // do not print where the trace went
};

class RecordSession {
 public:
  // Records the program; returns the exit status rr should exit with (the
  // program's, or 128+N when a signal N killed it).
  static Result<int> record(const RecordOptions& options);

 private:
  RecordSession(std::unique_ptr<TraceWriter> writer, std::string exe_path);
  Status spawn(const RecordOptions& options);
  Result<int> run();
  Status write_header(const RecordOptions& options);

  void on_exec_done(trace::ExecImage::Builder image);
  // Asynchronous signals that arrived while injected code ran: held like any
  // other that arrives between events.
  void hold(const std::vector<siginfo_t>& signals) { held_.insert(held_.end(), signals.begin(), signals.end()); }
  Status on_syscall_entry();
  Status on_syscall_exit();
  Status on_signal(int sig);
  bool try_emulate_rdtsc(const siginfo_t& si);
  Status finish_frame(capnp::MessageBuilder& msg);
  Status write_shared_files();
  void inject_held_signals();
  SyscallArgs restart_call(const SyscallArgs& call);
  SyscallArgs interrupted_;  // the last call interrupted with ERESTART_RESTARTBLOCK

  std::unique_ptr<TraceWriter> writer_;
  FileStore files_;
  std::string exe_path_;
  std::unique_ptr<Task> task_;
  FdTable fds_;
  uint64_t next_event_ = 1;
  int deliver_sig_ = 0;         // signal to pass at the next resume
  std::unique_ptr<capnp::MallocMessageBuilder> pending_signal_frame_;  // written after delivery
  Registers entry_regs_;        // registers at the current syscall's entry
  bool exec_seen_ = false;      // PTRACE_EVENT_EXEC seen during the current syscall
  Registers last_event_regs_;   // registers when the last event ended
  std::vector<siginfo_t> held_;               // async signals waiting for an event
  std::map<int, siginfo_t> injected_;          // re-sent held signals, by number
  int bound_cpu_ = 0;                          // the CPU the tracee runs on
  std::set<std::string> shared_files_;         // trace files mapped shared and writable
  // Live MAP_SHARED file mappings: a write() to their file changes their
  // memory, which the recording must then carry.
  struct SharedMapping {
    uint64_t start, len, dev, ino;
    bool writable;
    std::string file;  // the trace copy
  };
  std::vector<SharedMapping> shared_maps_;
  void record_shared_map_changes(const SyscallArgs& call, std::vector<MemRange>& ranges);
};

// The CPU a new recording pins its tracees to: one this process may run on.
int choose_cpu();
// Pins the calling thread to `cpu`; false if it is not allowed.
bool pin_to_cpu(int cpu);

// Finds `program` the way execvp would; error if absent or not executable.
Result<std::string> find_program(const std::string& program);

}  // namespace rr
