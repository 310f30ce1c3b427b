// rr checkpoints [--json] [TRACE]
// rr checkpoints rm EVT... | --all [TRACE]
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <unistd.h>

#include <map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/restore.h"
#include "cli/command.h"
#include "cli/progress.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"

namespace rr {

int cmd_checkpoints(const Args& args) {
  bool json = false, rm = false, all = false;
  std::vector<uint64_t> events;
  std::string trace;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    unsigned long long ev;
    if (i == 0 && a == "rm") {
      rm = true;
    } else if (a == "--json") {
      json = true;
    } else if (a == "--all" && rm) {
      all = true;
    } else if (rm && parse_event(a, ev)) {
      events.push_back(ev);
    } else if (rm && i + 1 < args.size() && a[0] != '-') {
      // Only the last argument can be the trace.
      return fail("rr checkpoints rm: '" + a + "' is not an event number");
    } else if (int status = take_trace_arg("checkpoints", a, trace)) {
      return status;
    }
  }
  if (rm && !all && events.empty()) return fail("rr checkpoints rm needs event numbers or --all");
  std::string dir = resolve_trace_dir(trace);
  auto reader = TraceReader::open(dir);
  if (!reader.ok()) return fail(reader.error().message);
  std::vector<CheckpointEntry> list = list_checkpoints(dir, reader.value()->uuid());
  if (rm) {
    int status = 0;
    for (uint64_t ev : events) {
      bool found = false;
      for (const auto& c : list) found |= c.event == ev;
      if (!found) status = fail("no checkpoint at event " + std::to_string(ev));
    }
    auto removing = [&](uint64_t ev) { return all || std::find(events.begin(), events.end(), ev) != events.end(); };
    // An incremental checkpoint needs its base: a base is removed only with
    // every checkpoint built on it, and nothing is removed otherwise.
    std::map<uint64_t, std::vector<uint64_t>> kept_dependents;
    for (const auto& c : list) {
      if (!c.problem.empty() || removing(c.event)) continue;
      auto r = CheckpointReader::open(c.path, reader.value()->uuid());
      if (r.ok() && r.value()->base() && removing(r.value()->base()->info().getEvent()))
        kept_dependents[r.value()->base()->info().getEvent()].push_back(c.event);
    }
    for (const auto& [ev, deps] : kept_dependents) {
      std::string names;
      for (uint64_t d : deps) names += (names.empty() ? "" : ", ") + std::to_string(d);
      status = fail("checkpoint " + std::to_string(ev) + " is the base of incremental checkpoint" + (deps.size() > 1 ? "s " : " ") +
                    names + ": remove " + (deps.size() > 1 ? "them" : "it") + " too (or create-checkpoints --full)");
    }
    if (!kept_dependents.empty()) return status;
    for (const auto& c : list) {
      if (!removing(c.event)) continue;
      if (unlink(c.path.c_str()) != 0) status = fail("cannot remove " + c.path);
    }
    return status;
  }
  if (json) {
    printf("[");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& c = list[i];
      printf("%s{\"event\": %" PRIu64 ", \"file\": \"%s\", \"bytes\": %" PRIu64 ", \"version\": \"%u.%u\", \"created_ns\": %" PRIu64
             ", \"usable\": %s%s%s%s}",
             i ? ", " : "", c.event, c.path.c_str(), c.bytes, c.major, c.minor, c.created_ns, c.problem.empty() ? "true" : "false",
             c.problem.empty() ? "" : ", \"problem\": \"", c.problem.c_str(), c.problem.empty() ? "" : "\"");
    }
    printf("]\n");
    return 0;
  }
  printf("%-12s %-14s %-8s %-20s %s\n", "EVENT", "BYTES", "VERSION", "CREATED", "FILE");
  for (const auto& c : list) {
    char when[32] = "-";
    time_t t = c.created_ns / 1000000000ull;
    if (c.created_ns) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime(&t));
    printf("%-12" PRIu64 " %-14" PRIu64 " %u.%-6u %-20s %s%s\n", c.event, c.bytes, c.major, c.minor, when, c.path.c_str(),
           c.problem.empty() ? "" : ("  (unusable: " + c.problem + ")").c_str());
  }
  return 0;
}

}  // namespace rr
