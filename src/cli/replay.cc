// rr replay -a [-g EVT] [TRACE]: replays to the end with no debugger,
// echoing what the program wrote to stdout and stderr (from EVT on with -g).
#include "cli/command.h"
#include "cli/progress.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"

namespace rr {

int cmd_replay(const Args& args) {
  bool autopilot = false;
  bool ignore_pcp = false;
  unsigned long long from = 0;
  std::string trace;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-a" || a == "--autopilot") {
      autopilot = true;
    } else if (a == "-g" || a == "--goto") {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], from)) return fail("-g needs an event number");
      ++i;
    } else if (a == "--ignore-pcp") {
      ignore_pcp = true;
    } else if (int status = take_trace_arg("replay", a, trace)) {
      return status;
    }
  }
  if (!autopilot) return fail("replay under gdb is not implemented yet; use rr replay -a");
  // With -g, start from the latest persistent checkpoint at or before EVT.
  auto session = from > 0 ? ReplaySession::open_at(resolve_trace_dir(trace), from, ignore_pcp)
                          : ReplaySession::open(resolve_trace_dir(trace));
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
  return 0;
}

}  // namespace rr
