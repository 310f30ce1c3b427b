// rr state [-g EVT] [-p PID] [--json] [TRACE]: the canonical state at an event.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "cli/progress.h"
#include "replay/replay_session.h"
#include "replay/state.h"
#include "trace/trace_files.h"

namespace rr {

int cmd_state(const Args& args) {
  unsigned long long event = 0;
  bool json = false;
  bool ignore_pcp = false;
  bool time_seek = false;
  std::string trace;
  unsigned long long mem_addr = 0, mem_len = 0;
  long long only_pid = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-g" || a == "--goto") {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], event) || event == 0)
        return fail("-g needs an event number (from 1)");
      ++i;
    } else if (a == "-p" || a == "--pid") {
      if (i + 1 >= args.size()) return fail("-p needs a process id");
      char* end = nullptr;
      only_pid = strtoll(args[i + 1].c_str(), &end, 10);
      if (!end || *end || only_pid <= 0) return fail("-p needs a process id, not '" + args[i + 1] + "'");
      ++i;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--ignore-pcp") {
      ignore_pcp = true;
    } else if (a == "--time-seek") {
      // Prints on stderr how long reaching the event took (for bench/).
      time_seek = true;
    } else if (a == "--memory") {
      // --memory ADDR LEN: hex dump of tracee memory instead of the state (for debugging).
      if (i + 2 >= args.size()) return fail("--memory needs an address and a length");
      mem_addr = std::stoull(args[i + 1], nullptr, 0);
      mem_len = std::stoull(args[i + 2], nullptr, 0);
      i += 2;
    } else if (int status = take_trace_arg("state", a, trace)) {
      return status;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto session = ReplaySession::open_at(resolve_trace_dir(trace), event, ignore_pcp);
  if (!session.ok()) return fail(session.error().message);
  ReplaySession& s = *session.value();
  s.set_echo(false);
  Progress progress("rr: replaying to event " + std::to_string(event));
  s.set_progress([&](uint64_t at) { progress.update(at, event); });
  Status st = s.run_to(event);
  progress.done();
  if (!st.ok()) return fail(st.error().message);
  if (time_seek)
    fprintf(stderr, "seek: %.6f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (mem_len) {
    Task* t = nullptr;
    for (const auto& [tid, rt] : s.tasks())
      if (!t || rt->tgid == only_pid) t = rt->task.get();
    if (!t || !t->alive()) return fail("no live task at this event");
    std::string bytes(mem_len, '\0');
    if (!t->read_mem(RemotePtr(mem_addr), bytes.data(), mem_len)) return fail("memory not readable");
    for (size_t off = 0; off < mem_len; off += 16) {
      printf("%016llx:", mem_addr + off);
      for (size_t k = off; k < off + 16 && k < mem_len; ++k) printf(" %02x", (unsigned char)bytes[k]);
      printf("\n");
    }
    return 0;
  }
  if (only_pid) {
    bool found = false;
    for (const auto& [tid, rt] : s.tasks()) found |= rt->tgid == only_pid;
    if (!found) return fail("no process " + std::to_string(only_pid) + " is alive at event " + std::to_string(s.current_event()));
  }
  std::string text = describe_state(s, json, (pid_t)only_pid);
  fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace rr
