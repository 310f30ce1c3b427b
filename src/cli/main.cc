// rr: record, replay and inspect executions. main() dispatches to the
// command table; every command reports bad input in one line and a non-zero
// exit status, never a crash.
#include <cstdio>
#include <malloc.h>
#include <cstring>
#include <unistd.h>
#include <exception>
#include <kj/exception.h>

#include "cli/command.h"
#include "core/user_namespace.h"
#include "util/fatal.h"
#include "util/invariant.h"

namespace rr {

int fail(const std::string& message) {
  fflush(stdout);
  if (isatty(2)) fputs("\r\033[K", stderr);  // over a progress line, if one is shown
  fprintf(stderr, "rr: %s\n", message.c_str());
  return 1;
}

int take_trace_arg(const char* command, const std::string& arg, std::string& trace) {
  if (!arg.empty() && arg[0] == '-') return fail(std::string("unknown ") + command + " option " + arg);
  if (!trace.empty()) return fail("more than one trace given");
  trace = arg;
  return 0;
}

bool parse_event(const std::string& s, unsigned long long& out) {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  out = std::stoull(s);
  return true;
}

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {"record", "rr record [-o DIR] [-w] [--no-syscall-buffer] [--no-progress-counter] [--timeslice N] [--chaos] [--checkpoint-every N|Ns] PROG [ARGS...]", "run PROG and record its execution", cmd_record},
      {"replay", "rr replay [-a] [-g EVT] [-p PID] [-f PID] [-e] [-s PORT] [--ignore-pcp] [TRACE] [-- GDB-ARGS...]",
       "replay a trace under gdb (reverse execution, checkpoints), or to its end with -a", cmd_replay},
      {"dump", "rr dump [TRACE]", "print the events of a trace", cmd_dump},
      {"ps", "rr ps [TRACE]", "list the processes of a trace: pid, parent, exit status, command", cmd_ps},
      {"ls", "rr ls", "list the recorded traces", cmd_ls},
      {"state", "rr state [-g EVT[,EVT...]] [-p PID] [--ignore-pcp] [--json] [TRACE]", "print the state of the tracees at an event", cmd_state},
      {"create-checkpoints", "rr create-checkpoints [-i N] [-s EVT] [-e EVT] [--codec C] [--full] [-j N] [TRACE]",
       "replay once and save a persistent checkpoint every N events", cmd_create_checkpoints},
      {"checkpoints", "rr checkpoints [--json] [TRACE] | rr checkpoints rm EVT...|--all [TRACE]",
       "list or remove persistent checkpoints", cmd_checkpoints},
  };
  return table;
}

static void usage(FILE* out) {
  fprintf(out, "usage: rr COMMAND [OPTIONS]\n\ncommands:\n");
  for (const Command& c : command_table()) fprintf(out, "  %-40s %s\n", c.usage, c.summary);
}

}  // namespace rr

#ifdef __SANITIZE_ADDRESS__
// The sanitizer's runtime would give rr's main thread an alternate signal
// stack, which rr itself never has: a new tracee's alternate stack state
// comes from that thread, and replay, finding a stack set, drops it, which
// stores SS_DISABLE where the recording's signal frames showed 0
// (docs/record-checkpoints.md, the alternate signal stack).
extern "C" const char* __asan_default_options() { return "use_sigaltstack=0"; }
#endif

int main(int argc, char** argv) {
  using namespace rr;
  // Large buffers (a plan file, a code read from a tracee, a file copy's
  // blocks: megabytes each, many times at each exec) come from the heap and
  // go back to it, not to the kernel: mapped afresh each time, every one of
  // their pages was a page fault and a cleared page (13% of the recorder's
  // CPU at python3's start-up).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  if (argc < 2) {
    usage(stderr);
    return 1;
  }
  std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    usage(stdout);
    return 0;
  }
  for (const Command& c : command_table()) {
    if (name != c.name) continue;
    Args args(argv + 2, argv + argc);
    // Everything but recording and reading traces replays (or may): as an
    // ordinary user that runs in a child in namespaces of its own
    // (core/user_namespace.h), made now while rr has one thread.
    if (name != "record" && name != "ls" && name != "dump" && name != "ps") {
      auto parent = replay_in_user_namespace();
      if (!parent.ok()) return fail(parent.error().message);
      if (parent.value()) return *parent.value();
    }
    try {
      return c.run(args);
    } catch (const FatalError& e) {
      return fail(e.what());
    } catch (const kj::Exception& e) {
      return fail(kj_error(e, ErrorKind::Corrupt, "corrupt data: ").message);
    } catch (const std::exception& e) {
      return fail(std::string("internal error: ") + e.what());
    }
  }
  fprintf(stderr, "rr: unknown command '%s'\n", name.c_str());
  usage(stderr);
  return 1;
}
