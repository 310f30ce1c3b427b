// rr state [-g EVT[,EVT...]] [-p PID] [--json] [TRACE]: the canonical state
// at an event, or at each of several (ascending) in one replay.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "cli/command.h"
#include "checkpoint/restore.h"
#include "cli/progress.h"
#include "replay/replay_session.h"
#include "replay/state.h"
#include "trace/trace_files.h"

namespace rr {

namespace {

constexpr unsigned long long kMaxMemoryDump = 64ull << 20;

// A number in C notation (decimal, 0x hex, 0 octal); false unless all of `s` is one.
bool parse_number(const std::string& s, unsigned long long& out) {
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  char* end = nullptr;
  errno = 0;
  out = strtoull(s.c_str(), &end, 0);
  return errno == 0 && end && *end == 0;
}

// Runs `s` from event `from` on to the first event before `to` where it can
// be copied, and copies it.
Result<std::unique_ptr<ReplaySession>> copy_on_the_way(ReplaySession& s, uint64_t from, uint64_t to) {
  s.set_echo(false);
  RR_TRY(s.run_to(from));
  // What stands in the way where the search starts, in case the end has
  // only something in flight to show.
  std::string first_why = s.can_clone() ? "" : s.clone_refusal();
  while (!s.can_clone()) {
    if (s.current_event() >= to || s.at_end()) {
      std::string why = s.clone_refusal();
      if (why.empty()) why = first_why;
      return make_error("the replay cannot be copied at any event from " + std::to_string(from) + " to " +
                        std::to_string(to) + (why.empty() ? "" : " (at the last: " + why + ")"));
    }
    RR_TRY(s.run_to(s.current_event() + 1));
  }
  return s.clone();
}

// -p PID: the process must be alive where the state is printed.
Status process_alive(ReplaySession& s, long long pid) {
  for (const auto& [tid, rt] : s.tasks())
    if (rt->tgid.value == pid) return {};
  return make_error("no process " + std::to_string(pid) + " is alive at event " + std::to_string(s.current_event()));
}

// "E1,E2,...": events from 1, each after the one before.
bool parse_events(const std::string& s, std::vector<unsigned long long>& out) {
  out.clear();
  size_t at = 0;
  while (true) {
    size_t comma = s.find(',', at);
    unsigned long long e = 0;
    if (!parse_event(s.substr(at, comma == std::string::npos ? std::string::npos : comma - at), e) || e == 0)
      return false;
    if (!out.empty() && e <= out.back()) return false;
    out.push_back(e);
    if (comma == std::string::npos) return true;
    at = comma + 1;
  }
}

}  // namespace

int cmd_state(const Args& args) {
  unsigned long long event = 0;
  // -g E1,E2,...: the state at each, in one replay (for tests, which
  // compare many events against a replay from the start).
  std::vector<unsigned long long> events;
  bool json = false;
  bool ignore_pcp = false;
  bool time_seek = false;
  std::string trace;
  unsigned long long mem_addr = 0, mem_len = 0;
  unsigned long long clone_at = 0;
  long long only_pid = 0;
  std::set<std::string> given;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    // Which of two values was meant is not ours to guess.
    if (a.size() > 1 && a[0] == '-' && !given.insert(a).second) return fail("option " + a + " given twice");
    if (a == "-g" || a == "--goto") {
      if (i + 1 >= args.size() || !parse_events(args[i + 1], events))
        return fail("-g needs an event number (from 1), or several in ascending order with commas between");
      event = events.back();
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
    } else if (a == "--clone-at") {
      // --clone-at C: reach EVT in an in-memory copy of the replay made at
      // event C (or the first event after it where one can be made), and
      // check that the source, run on to EVT too, agrees (for tests).
      if (i + 1 >= args.size() || !parse_event(args[i + 1], clone_at) || clone_at == 0)
        return fail("--clone-at needs an event number (from 1)");
      ++i;
    } else if (a == "--memory") {
      // --memory ADDR LEN: hex dump of tracee memory instead of the state (for debugging).
      if (i + 2 >= args.size() || !parse_number(args[i + 1], mem_addr) || !parse_number(args[i + 2], mem_len) || mem_len == 0)
        return fail("--memory needs an address and a length (decimal or 0x...)");
      if (mem_len > kMaxMemoryDump) return fail("--memory dumps at most " + std::to_string(kMaxMemoryDump) + " bytes");
      i += 2;
    } else if (int status = take_trace_arg("state", a, trace)) {
      return status;
    }
  }
  if (events.size() > 1 && (clone_at || mem_len || json || time_seek))
    return fail("-g with several events takes none of --clone-at, --memory, --json and --time-seek");
  if (clone_at && (event == 0 || clone_at > event)) return fail("--clone-at needs -g EVT at or after it");
  auto t0 = std::chrono::steady_clock::now();
  auto session = open_replay_at(resolve_trace_dir(trace), clone_at ? clone_at : events.empty() ? 0 : events.front(),
                                ignore_pcp);
  if (!session.ok()) return fail(session.error().message);
  std::unique_ptr<ReplaySession> source;
  if (clone_at) {
    auto copy = copy_on_the_way(*session.value(), clone_at, event);
    if (!copy.ok()) return fail(copy.error().message);
    source = std::move(session.value());
    session.value() = std::move(copy.value());
  }
  ReplaySession& s = *session.value();
  s.set_echo(false);
  Progress progress("rr: replaying to event " + std::to_string(event));
  s.set_progress([&](uint64_t at) { progress.update(at, event); });
  // -g E1,E2,...: the states before the last, printed on the way to it as
  // the last is below (no option that changes that form is allowed then).
  for (size_t k = 0; k + 1 < events.size(); ++k) {
    Status st = s.run_to(events[k]);
    if (st.ok() && only_pid) st = process_alive(s, only_pid);
    progress.done();  // drawn again on the way to the next
    if (!st.ok()) return fail(st.error().message);
    std::string text = describe_state(s, false, (pid_t)only_pid);
    fwrite(text.data(), 1, text.size(), stdout);
    fflush(stdout);
  }
  Status st = s.run_to(event);
  progress.done();
  if (!st.ok()) return fail(st.error().message);
  if (source) {
    st = source->run_to(event);
    if (!st.ok()) return fail("the copy's source: " + st.error().message);
    if (describe_state(*source, false, 0) != describe_state(s, false, 0))
      return fail("at event " + std::to_string(event) + " the state of the copy differs from its source's");
  }
  if (time_seek)
    fprintf(stderr, "seek: %.6f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (mem_len) {
    Task* t = nullptr;
    for (const auto& [tid, rt] : s.tasks())
      if (!t || rt->tgid.value == only_pid) t = rt->task.get();
    if (!t || !t->alive()) return fail("no live task at this event");
    std::string bytes(mem_len, '\0');
    if (!t->read_mem(RemotePtr<>(mem_addr), bytes.data(), mem_len)) return fail("memory not readable");
    for (size_t off = 0; off < mem_len; off += 16) {
      printf("%016llx:", mem_addr + off);
      for (size_t k = off; k < off + 16 && k < mem_len; ++k) printf(" %02x", (unsigned char)bytes[k]);
      printf("\n");
    }
    return 0;
  }
  if (only_pid) {
    st = process_alive(s, only_pid);
    if (!st.ok()) return fail(st.error().message);
  }
  std::string text = describe_state(s, json, (pid_t)only_pid);
  fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

}  // namespace rr
