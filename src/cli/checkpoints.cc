// rr create-checkpoints [-i N] [-s EVT] [-e EVT] [--codec zstd|zlib|none] [--full] [TRACE]
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

namespace {

// The number of the last event, by reading the event stream once.
Result<uint64_t> last_event(const std::string& trace_dir) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> r, TraceReader::open(trace_dir));
  uint64_t last = 0;
  for (;;) {
    RR_ASSIGN_OR_RETURN(std::optional<FrameData> f, r->next());
    if (!f) break;
    last = f->frame().getEvent();
  }
  return last;
}

}  // namespace

int cmd_create_checkpoints(const Args& args) {
  unsigned long long interval = 0, start = 1, end = 0;
  bool interval_given = false, full = false;
  Codec codec = Codec::Zstd;
  std::string trace;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto need = [&](unsigned long long& v, const char* what) {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], v)) return false;
      ++i;
      (void)what;
      return true;
    };
    if (a == "-i" || a == "--interval") {
      if (!need(interval, "-i")) return fail("-i needs a number of events");
      if (interval == 0) return fail("-i 0 is not an interval");
      interval_given = true;
    } else if (a == "-s" || a == "--start") {
      if (!need(start, "-s")) return fail("-s needs an event number");
    } else if (a == "-e" || a == "--end") {
      if (!need(end, "-e")) return fail("-e needs an event number");
    } else if (a == "--full") {
      full = true;
    } else if (a == "--codec") {
      if (i + 1 >= args.size()) return fail("--codec needs zstd, zlib or none");
      auto c = parse_codec(args[++i]);
      if (!c.ok()) return fail(c.error().message);
      codec = c.value();
    } else if (int status = take_trace_arg("create-checkpoints", a, trace)) {
      return status;
    }
  }
  std::string dir = resolve_trace_dir(trace);
  auto last = last_event(dir);
  if (!last.ok()) return fail(last.error().message);
  uint64_t last_ev = last.value();
  if (end == 0 || end > last_ev) end = last_ev;
  if (start < 1) start = 1;
  if (start > end) return fail("-s " + std::to_string(start) + " is past the end (" + std::to_string(end) + ")");
  if (!interval_given) interval = std::max<uint64_t>(1, (end - start + 1) / 10);
  remove_stale_temporaries(dir);
  auto session = open_replay_at(dir, start, false);
  if (!session.ok()) return fail(session.error().message);
  ReplaySession& s = *session.value();
  s.set_echo(false);
  Progress bar("rr: creating checkpoints");
  s.set_progress([&](uint64_t at) { bar.update(at, end); });
  auto t0 = std::chrono::steady_clock::now();
  uint64_t bytes = 0, resident = 0;
  size_t written = 0;
  double write_seconds = 0;
  bool told_pid_ns = false;
  std::unique_ptr<CheckpointReader> base;
  size_t incremental = 0;
  // The requested points: every `interval` events from `start`. One is
  // achieved by a checkpoint at it or less than an interval after it (an
  // event where nothing can be saved moves it on); an earlier checkpoint
  // the replay started from achieves the point it stands at.
  std::vector<uint64_t> grid;
  for (uint64_t g = start; g <= end; g += interval) grid.push_back(g);
  size_t gi = 0, achieved = 0;
  auto serve = [&](uint64_t at) {
    for (; gi < grid.size() && grid[gi] <= at; ++gi)
      if (at < grid[gi] + interval) ++achieved;
  };
  for (; gi < grid.size() && grid[gi] < s.current_event(); ++gi) {}
  if (gi < grid.size() && grid[gi] == s.current_event()) serve(s.current_event());
  while (gi < grid.size()) {
    Status st = s.run_to(grid[gi]);
    if (!st.ok()) return fail(st.error().message);
    // Events where nothing can be saved (a signal in flight, the exit) are
    // skipped for the next one that can.
    while (!s.can_checkpoint() && s.current_event() < end && !s.exited()) {
      std::string pid_ns = s.pid_namespace_refusal();
      if (!pid_ns.empty() && !told_pid_ns) {
        bar.done();
        fprintf(stderr, "rr: no checkpoint at event %" PRIu64 " and after while %s\n", s.current_event(), pid_ns.c_str());
        told_pid_ns = true;
      }
      st = s.run_to(s.current_event() + 1);
      if (!st.ok()) return fail(st.error().message);
    }
    if (!s.can_checkpoint()) break;
    // Incremental against the checkpoint before it (the last one written
    // here, or the latest in the folder), up to kMaxIncrementalDepth; then
    // a full one again.
    if (!full && !base) base = find_base(dir, s.reader().uuid(), s.current_event());
    bool take_full = full || !base || base->depth() >= kMaxIncrementalDepth;
    auto stats = write_checkpoint(s, codec, take_full ? nullptr : base.get());
    if (!stats.ok() && stats.error().kind == ErrorKind::Unsupported) {
      // What the program does from here on cannot be saved (protection
      // keys, say): the checkpoints written so far stay usable.
      bar.done();
      fprintf(stderr, "rr: no checkpoint from event %" PRIu64 " on: %s\n", s.current_event(), stats.error().message.c_str());
      break;
    }
    if (!stats.ok()) {
      bar.done();
      return fail(stats.error().message);
    }
    if (!take_full) ++incremental;
    if (!full) {
      auto written_base = CheckpointReader::open(stats->path, s.reader().uuid());
      base = written_base.ok() ? std::move(written_base.value()) : nullptr;
    }
    ++written;
    bytes += stats->file_bytes;
    resident += stats->resident_bytes;
    write_seconds += stats->seconds;
    serve(s.current_event());
    bar.update(s.current_event(), end, ", " + std::to_string(written) + " checkpoints");
  }
  bar.done();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("wrote %zu checkpoints (%zu incremental), %" PRIu64 " bytes, %.3f bytes per resident byte, %.2f s (%.2f s writing, %.0f MB/s of resident memory)\n",
         written, incremental, bytes, resident ? double(bytes) / double(resident) : 0.0, secs, write_seconds,
         write_seconds > 0 ? resident / 1e6 / write_seconds : 0.0);
  printf("requested %zu (every %llu events from %llu to %llu), achieved %zu\n", grid.size(), interval, start, end, achieved);
  return 0;
}

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
