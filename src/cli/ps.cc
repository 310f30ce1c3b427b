// rr ps [TRACE]: the processes of a recording, one line each: pid, parent
// pid, exit status (-N when signal N killed it) and the command line of the
// last program it ran.
#include <cstdio>
#include <map>
#include <sched.h>
#include <string>
#include <vector>

#include "cli/command.h"
#include "trace/trace_files.h"

namespace rr {

namespace {

struct ProcessRow {
  pid_t ppid = 0;  // 0: the first process (its parent is not traced)
  std::string exit = "none";
  std::vector<std::string> argv;
};

std::vector<std::string> argv_of(trace::ExecImage::Reader image) {
  std::vector<std::string> out;
  for (auto a : image.getArgv()) out.push_back(a.cStr());
  if (out.empty()) out.push_back(image.getExePath().cStr());
  return out;
}

std::string quote(const std::string& s) {
  if (!s.empty() && s.find_first_of(" \t\n'\"\\$`") == std::string::npos) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int cmd_ps(const Args& args) {
  std::string trace;
  for (const std::string& a : args) {
    if (int status = take_trace_arg("ps", a, trace)) return status;
  }
  auto reader = TraceReader::open(resolve_trace_dir(trace));
  if (!reader.ok()) return fail(reader.error().message);
  std::map<pid_t, ProcessRow> procs;  // by pid, in creation order of pids
  std::vector<pid_t> order;
  std::map<pid_t, pid_t> tgid;         // every task's process
  auto add_task = [&](pid_t parent_task, pid_t child, uint64_t flags) {
    if (tgid.count(child)) return;
    pid_t parent = tgid.count(parent_task) ? tgid[parent_task] : parent_task;
    if (flags & CLONE_THREAD) {
      tgid[child] = parent;
      return;
    }
    tgid[child] = child;
    ProcessRow row;
    row.ppid = parent;
    row.argv = procs[parent].argv;
    procs[child] = row;
    order.push_back(child);
  };
  uint64_t last = 0;
  for (;;) {
    auto next = reader.value()->next();
    if (!next.ok()) return fail(next.error().message);
    if (!next.value()) break;
    trace::Frame::Reader f = next.value()->frame();
    last = f.getEvent();
    pid_t tid = f.getTid();
    switch (f.which()) {
      case trace::Frame::EXEC:
        tgid[tid] = tid;
        procs[tid].argv = argv_of(f.getExec());
        order.push_back(tid);
        break;
      case trace::Frame::SYSCALL_ENTRY:
        // A parent that waits while its new task runs: a vfork, or a clone
        // whose entry was recorded apart (its flags say thread or process;
        // older traces have none and it counts as a process).
        if (f.getSyscallEntry().getChildTid() > 0)
          add_task(tid, f.getSyscallEntry().getChildTid(), f.getSyscallEntry().getCloneFlags());
        break;
      case trace::Frame::SYSCALL: {
        auto sc = f.getSyscall();
        // The result is the pid the caller saw, another in a PID namespace
        // the program made; childTid (format 1.7 on) is the recorder's.
        pid_t child = sc.getChildTid() ? sc.getChildTid() : (pid_t)sc.getResult();
        if (sc.getCloneFlags() && sc.getResult() > 0) add_task(tid, child, sc.getCloneFlags());
        if (sc.hasImage() && tgid.count(tid)) procs[tgid[tid]].argv = argv_of(sc.getImage());
        break;
      }
      case trace::Frame::EXIT: {
        auto ev = f.getExit();
        if (tgid.count(tid) && tgid[tid] == tid)
          procs[tid].exit = ev.getKilledBy() ? std::to_string(-(int)ev.getKilledBy()) : std::to_string(ev.getExitCode());
        break;
      }
      default:
        break;
    }
  }
  printf("PID\tPPID\tEXIT\tCMD\n");
  for (pid_t pid : order) {
    const ProcessRow& row = procs[pid];
    std::string cmd;
    for (const std::string& a : row.argv) {
      if (!cmd.empty()) cmd += ' ';
      cmd += quote(a);
    }
    printf("%d\t%s\t%s\t%s\n", pid, row.ppid ? std::to_string(row.ppid).c_str() : "--", row.exit.c_str(), cmd.c_str());
  }
  if (!reader.value()->finished()) return fail(reader.value()->unfinished_message(last));
  return 0;
}

}  // namespace rr
