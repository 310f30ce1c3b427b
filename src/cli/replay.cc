// rr replay: under gdb (the default), or with -a to the end with no
// debugger, echoing what the program wrote to stdout and stderr.
//
//   rr replay [-a] [-g EVT] [-p PID] [-f PID] [-e] [-s PORT] [--ignore-pcp] [TRACE] [-- GDB-ARGS...]
#include <csignal>
#include <cstdio>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include "cli/command.h"
#include "checkpoint/restore.h"
#include "cli/progress.h"
#include "gdb/gdb_connection.h"
#include "gdb/gdb_server.h"
#include "gdb/monitor_commands.h"
#include "gdb/replay_timeline.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/io.h"

namespace rr {

namespace {

int replay_autopilot(const std::string& dir, unsigned long long from, bool ignore_pcp) {
  // With -g, start from the latest persistent checkpoint at or before EVT.
  auto session = from > 0 ? open_replay_at(dir, from, ignore_pcp) : ReplaySession::open(dir);
  if (!session.ok()) return fail(session.error().message);
  ReplaySession& s = *session.value();
  if (from > 0) {
    s.set_echo(false);
    Progress progress("rr: replaying to event " + std::to_string(from));
    s.set_progress([&](uint64_t at) { progress.update(at, from); });
    Status st = s.run_to(from);
    progress.done();
    s.set_progress(nullptr);
    if (!st.ok()) return fail(st.error().message);
    s.set_echo(true);
  }
  Status st = s.run_to(0);
  if (!st.ok()) return fail(st.error().message);
  // As `rr record` did: the program's exit status, or 128+N for signal N.
  return s.killed_by() ? 128 + s.killed_by() : s.exit_code();
}

// Where gdb starts and which process it debugs, from the trace.
struct Start {
  Mark mark;
  pid_t process = 0;
  std::string exe;  // the trace's copy of the program, for gdb's symbols
  uint64_t last_event = 0;
};

Result<Start> find_start(const std::string& dir, unsigned long long go, pid_t exec_pid, pid_t fork_pid, bool at_end) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> reader, TraceReader::open(dir));
  Start s;
  bool found = !exec_pid && !fork_pid;
  for (;;) {
    RR_ASSIGN_OR_RETURN(std::optional<FrameData> f, reader->next());
    if (!f) break;
    trace::Frame::Reader fr = f->frame();
    s.last_event = fr.getEvent();
    std::string exe_file;
    bool is_exec = false;
    if (fr.which() == trace::Frame::EXEC) {
      is_exec = true;
      exe_file = fr.getExec().getMm().getExeFile();
      if (!s.process) s.process = fr.getTid();
      if (s.exe.empty()) s.exe = exe_file;
    } else if (fr.which() == trace::Frame::SYSCALL && fr.getSyscall().hasImage() && fr.getSyscall().getResult() == 0) {
      is_exec = true;
      exe_file = fr.getSyscall().getImage().getMm().getExeFile();
    }
    if (found) continue;
    if (exec_pid && is_exec && fr.getTid() == exec_pid) {
      s.mark.event = fr.getEvent();
      s.process = exec_pid;
      s.exe = exe_file;
      found = true;
    } else if (fork_pid && fr.which() == trace::Frame::SYSCALL &&
               (fr.getSyscall().getChildTid() ? fr.getSyscall().getChildTid() : fr.getSyscall().getResult()) == fork_pid &&
               !(fr.getSyscall().getCloneFlags() & CLONE_THREAD) && fr.getSyscall().getCloneFlags() != 0) {
      s.mark.event = fr.getEvent();
      s.process = fork_pid;
      found = true;
    } else if (fork_pid && fork_pid == s.process && fr.which() == trace::Frame::EXEC) {
      s.mark.event = fr.getEvent();
      found = true;
    }
  }
  if (!found) return make_error("process " + std::to_string(exec_pid ? exec_pid : fork_pid) +
                                (exec_pid ? " never execs" : " is never forked") + " in this trace (see rr ps)");
  if (s.mark.event == 0) s.mark = ReplayTimeline::beginning();
  if (go) {
    if (go > s.last_event)
      return make_error("event " + std::to_string(go) + " is past the end of the trace (last event " +
                        std::to_string(s.last_event) + ")");
    s.mark = Mark{};
    s.mark.event = go;
  }
  if (at_end) {
    s.mark = Mark{};
    s.mark.event = UINT64_MAX;
    s.mark.at_exit = true;
  }
  if (!s.exe.empty()) s.exe = dir + "/" + s.exe;
  return s;
}


}  // namespace

int cmd_replay(const Args& args) {
  bool autopilot = false, ignore_pcp = false, at_end = false;
  unsigned long long from = 0, exec_pid = 0, fork_pid = 0, port = 0;
  bool serve_only = false;
  std::string trace;
  std::vector<std::string> gdb_args;
  std::set<std::string> given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // Which of two values was meant is not ours to guess.
    if (a != "--" && a.size() > 1 && a[0] == '-' && !given.insert(a).second) return fail("option " + a + " given twice");
    auto number = [&](unsigned long long& out) {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], out)) return false;
      ++i;
      return true;
    };
    if (a == "-a" || a == "--autopilot") {
      autopilot = true;
    } else if (a == "-g" || a == "--goto") {
      if (!number(from)) return fail("-g needs an event number");
    } else if (a == "-p" || a == "--onprocess") {
      if (!number(exec_pid) || exec_pid == 0) return fail("-p needs a process id (see rr ps)");
    } else if (a == "-f" || a == "--onfork") {
      if (!number(fork_pid) || fork_pid == 0) return fail("-f needs a process id (see rr ps)");
    } else if (a == "-s" || a == "--dbgport") {
      if (!number(port) || port == 0 || port > 65535) return fail("-s needs a port number");
      serve_only = true;
    } else if (a == "-e" || a == "--goto-exit") {
      at_end = true;
    } else if (a == "--ignore-pcp") {
      ignore_pcp = true;
    } else if (a == "--") {
      gdb_args.assign(args.begin() + i + 1, args.end());
      break;
    } else if (int status = take_trace_arg("replay", a, trace)) {
      return status;
    }
  }
  if ((exec_pid && fork_pid) || ((exec_pid || fork_pid) && (from || at_end)) || (from && at_end))
    return fail("use one of -g, -p, -f and -e");
  // -a replays every process to the end without gdb: nothing else it could mean.
  if (autopilot && (exec_pid || fork_pid || at_end || serve_only || !gdb_args.empty()))
    return fail("-a replays the whole trace without gdb: -p, -f, -e, -s and gdb arguments do not go with it");
  std::string dir = resolve_trace_dir(trace);
  if (autopilot) return replay_autopilot(dir, from, ignore_pcp);

  auto start = find_start(dir, from, (pid_t)exec_pid, (pid_t)fork_pid, at_end);
  if (!start.ok()) return fail(start.error().message);
  auto conn = GdbConnection::listen((uint16_t)port);
  if (!conn.ok()) return fail(conn.error().message);
  std::string target = "127.0.0.1:" + std::to_string(conn.value()->port());

  pid_t gdb_pid = 0;
  std::string init_path;
  if (serve_only) {
    fprintf(stderr, "rr: waiting for gdb on port %u; start it with:\n  gdb -ex 'target extended-remote %s' %s\n",
            conn.value()->port(), target.c_str(), start.value().exe.c_str());
  } else {
    char tmpl[] = "/tmp/rr-gdbinit-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return fail("cannot write gdb's start-up commands: " + errno_text());
    init_path = tmpl;
    std::string init = gdb_init_script();
    Status st = write_all(fd, init.data(), init.size(), init_path);
    close(fd);
    if (!st.ok()) return fail(st.error().message);
    std::vector<std::string> argv = {"gdb", "-q", "-l", "100000", "-x", init_path, "-ex", "target extended-remote " + target};
    if (!start.value().exe.empty()) argv.insert(argv.begin() + 1, start.value().exe);
    argv.insert(argv.end(), gdb_args.begin(), gdb_args.end());
    fflush(stdout);
    fflush(stderr);
    gdb_pid = fork();
    if (gdb_pid < 0) return fail("fork: " + errno_text());
    if (gdb_pid == 0) {
      std::vector<char*> cargv;
      for (auto& s : argv) cargv.push_back(s.data());
      cargv.push_back(nullptr);
      execvp("gdb", cargv.data());
      fprintf(stderr, "rr: cannot run gdb: %s (install it, or use rr replay -s PORT with a gdb of your own)\n",
              errno_text().c_str());
      _exit(127);
    }
    // ^C at the terminal reaches gdb, which forwards it as an interrupt.
    signal(SIGINT, SIG_IGN);
  }
  Status accepted = conn.value()->accept(gdb_pid);
  if (!init_path.empty()) unlink(init_path.c_str());
  if (!accepted.ok()) return fail(accepted.error().message);

  GdbServer server(*conn.value());
  ReplayTimeline timeline(dir, start.value().process, server, !ignore_pcp);
  server.set_timeline(&timeline);
  Status st = timeline.run(start.value().mark);
  int status = 0;
  if (gdb_pid > 0) {
    conn.value().reset();
    while (waitpid(gdb_pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (!st.ok()) return fail(st.error().message);
  if (gdb_pid > 0 && WIFEXITED(status)) return WEXITSTATUS(status);
  return 0;
}

}  // namespace rr
