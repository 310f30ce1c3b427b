// rr create-checkpoints [-i N] [-s EVT] [-e EVT] [--codec zstd|zlib|none] [--full] [-j N] [TRACE]
//
// Replays the trace and writes a checkpoint every N events. With -j N the
// stretches between the checkpoints the trace already has (segments) are
// replayed by up to N processes at once, each from the checkpoint its
// segment starts at.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "checkpoint/checkpoint.h"
#include "checkpoint/restore.h"
#include "cli/command.h"
#include "core/write_tracker.h"
#include "cli/progress.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

// What was asked: where the trace is, how to write, the requested points'
// spacing and the last event to go to.
struct Plan {
  std::string dir;
  Codec codec = Codec::Zstd;
  bool full = false;
  uint64_t interval = 0;
  // The first event of the program's exit (see read_trace), 0 if none.
  uint64_t exit_start = 0;
};

// What one replay over some requested points wrote. Plain data: a worker
// process hands it to its parent through a pipe.
struct Tally {
  uint64_t written = 0, incremental = 0, bytes = 0, resident = 0, achieved = 0;
  // Of the achieved points, those in the program's exit, stood for by the
  // checkpoint just before it (at `before_exit`).
  uint64_t in_exit = 0, before_exit = 0;
  // Resident bytes write tracking knew unchanged since the checkpoint
  // before (not read).
  uint64_t unwritten = 0;
  double write_seconds = 0;
  void add(const Tally& o) {
    written += o.written, incremental += o.incremental, bytes += o.bytes, resident += o.resident, achieved += o.achieved;
    unwritten += o.unwritten;
    in_exit += o.in_exit, before_exit = std::max(before_exit, o.before_exit);
    write_seconds += o.write_seconds;
  }
};

// The number of the last event and the trace's id, by reading the event
// stream once; and where the program's exit begins: the first event of the
// run of frames that end a task (frame_ends_a_task) closing the trace.
Status read_trace(const std::string& dir, uint64_t* last, std::string* uuid, uint64_t* exit_start) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<TraceReader> r, TraceReader::open(dir));
  *uuid = r->uuid();
  *last = 0;
  *exit_start = 0;
  for (;;) {
    RR_ASSIGN_OR_RETURN(std::optional<FrameData> f, r->next());
    if (!f) break;
    *last = f->frame().getEvent();
    if (!frame_ends_a_task(f->frame()))
      *exit_start = 0;
    else if (*exit_start == 0)
      *exit_start = *last;
  }
  return {};
}

// Replays from the latest checkpoint at or before grid.front() and writes a
// checkpoint at each requested point of `grid` (every plan.interval
// events), or at the first event after it where one can be written, never
// past `limit`. A point is achieved by a checkpoint at it or less than an
// interval after it; the checkpoint the replay started from achieves the
// point it stands at.
Result<Tally> create_over(const Plan& plan, const std::vector<uint64_t>& grid, uint64_t limit, bool show_progress) {
  Tally tally;
  if (grid.empty()) return tally;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> session, open_replay_at(plan.dir, grid.front(), false));
  ReplaySession& s = *session;
  s.set_echo(false);
  Progress bar("rr: creating checkpoints");
  if (show_progress) s.set_progress([&](uint64_t at) { bar.update(at, limit); });
  bool told_pid_ns = false;
  std::unique_ptr<CheckpointReader> base;
  // Pages written since the last checkpoint (full ones need no tracking).
  std::unique_ptr<WriteTracker> tracker = !plan.full && WriteTracker::wanted() ? std::make_unique<WriteTracker>() : nullptr;
  s.set_write_tracker(tracker.get());
  uint64_t last_written = 0;
  // Writes a checkpoint at the current event; false when what the program
  // does from here on cannot be saved (protection keys, say): the
  // checkpoints written so far stay usable.
  auto write_here = [&]() -> Result<bool> {
    // Incremental against the checkpoint before it (the last one written
    // here, or the latest in the folder), up to kMaxIncrementalDepth; then
    // a full one again.
    if (!plan.full && !base) base = find_base(plan.dir, s.reader().uuid(), s.current_event());
    bool take_full = plan.full || !base || base->depth() >= kMaxIncrementalDepth;
    auto stats = write_checkpoint(s, plan.codec, take_full ? nullptr : base.get(), tracker.get());
    if (!stats.ok() && stats.error().kind == ErrorKind::Unsupported) {
      bar.done();
      fprintf(stderr, "rr: no checkpoint from event %" PRIu64 " on: %s\n", s.current_event(), stats.error().message.c_str());
      return false;
    }
    if (!stats.ok()) return stats.take_error();
    if (!plan.full) {
      auto written_base = CheckpointReader::open(stats->path, s.reader().uuid());
      base = written_base.ok() ? std::move(written_base.value()) : nullptr;
    }
    if (!stats->kept) {  // else the one there stays (an earlier run's, another segment's)
      if (!take_full) ++tally.incremental;
      ++tally.written;
      tally.bytes += stats->file_bytes;
      tally.resident += stats->resident_bytes;
      tally.unwritten += stats->pages_unwritten * kPageSize;
      tally.write_seconds += stats->seconds;
    }
    last_written = s.current_event();
    bar.update(s.current_event(), limit, ", " + std::to_string(tally.written) + " checkpoints");
    return true;
  };
  size_t gi = 0;
  auto serve = [&](uint64_t at) {
    for (; gi < grid.size() && grid[gi] <= at; ++gi)
      if (at < grid[gi] + plan.interval) ++tally.achieved;
  };
  for (; gi < grid.size() && grid[gi] < s.current_event(); ++gi) {}
  if (gi < grid.size() && grid[gi] == s.current_event()) serve(s.current_event());
  while (gi < grid.size()) {
    // The points in the program's exit are stood for by a checkpoint just
    // before it, where the replay can still save every task.
    if (plan.exit_start > 1 && grid[gi] >= plan.exit_start) {
      uint64_t before = plan.exit_start - 1;
      if (before > s.current_event()) RR_TRY(s.run_to(before));
      if (s.current_event() == before && s.can_checkpoint()) {
        if (last_written != before) {
          RR_ASSIGN_OR_RETURN(bool written, write_here());
          if (!written) break;
        }
        tally.in_exit += grid.size() - gi;
        tally.achieved += grid.size() - gi;
        tally.before_exit = before;
        break;
      }
      RR_LOG("no checkpoint before the program's exit (event %" PRIu64 "): %s", s.current_event(),
             s.why_no_checkpoint().c_str());
    }
    RR_TRY(s.run_to(grid[gi]));
    // Events where nothing can be saved (a signal in flight, the exit) are
    // skipped for the next one that can.
    if (!s.can_checkpoint())
      RR_LOG("no checkpoint at event %" PRIu64 ": %s", s.current_event(), s.why_no_checkpoint().c_str());
    while (!s.can_checkpoint() && s.current_event() < limit && !s.exited()) {
      std::string pid_ns = s.pid_namespace_refusal();
      if (!pid_ns.empty() && !told_pid_ns) {
        bar.done();
        fprintf(stderr, "rr: no checkpoint at event %" PRIu64 " and after while %s\n", s.current_event(), pid_ns.c_str());
        told_pid_ns = true;
      }
      RR_TRY(s.run_to(s.current_event() + 1));
    }
    if (!s.can_checkpoint()) break;
    if (last_written != s.current_event()) {
      RR_ASSIGN_OR_RETURN(bool written, write_here());
      if (!written) break;
    }
    serve(s.current_event());
  }
  return tally;
}

// One segment of the trace for -j: the requested points from one existing
// checkpoint (or the start) to the next, and the event its replay may not
// pass (the next segment's first point is written by that one's worker).
struct Segment {
  std::vector<uint64_t> grid;
  uint64_t limit = 0;
};

// Cuts the requested points at the trace's usable checkpoints.
std::vector<Segment> segments_of(const std::vector<uint64_t>& grid, const std::string& dir, const std::string& uuid, uint64_t end) {
  std::vector<uint64_t> cuts;
  for (const CheckpointEntry& c : list_checkpoints(dir, uuid))
    if (c.problem.empty() && c.event > grid.front() && c.event <= end) cuts.push_back(c.event);
  std::vector<Segment> segments(1);
  size_t ci = 0;
  for (uint64_t g : grid) {
    bool crossed = false;
    for (; ci < cuts.size() && cuts[ci] <= g; ++ci) crossed = true;
    if (crossed && !segments.back().grid.empty()) segments.emplace_back();
    segments.back().grid.push_back(g);
  }
  for (size_t i = 0; i < segments.size(); ++i) segments[i].limit = i + 1 < segments.size() ? segments[i + 1].grid.front() - 1 : end;
  return segments;
}

// Runs each segment in a worker process, `jobs` at a time, and adds up
// what they wrote. A worker that fails has printed why.
Result<Tally> create_in_parallel(const Plan& plan, const std::vector<Segment>& segments, unsigned jobs) {
  struct Worker {
    size_t segment;
    ScopedFd result;
  };
  std::map<pid_t, Worker> running;
  Tally total;
  size_t next = 0, failed = 0;
  fflush(stdout);
  fflush(stderr);
  while (next < segments.size() || !running.empty()) {
    while (next < segments.size() && running.size() < jobs) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return make_error("cannot make a pipe for a worker: " + errno_text());
      ScopedFd read_end(fds[0]), write_end(fds[1]);
      pid_t pid = fork();
      if (pid < 0) return make_error("cannot start a worker: " + errno_text());
      if (pid == 0) {
        // The worker ends here whatever happens: nothing may unwind into
        // the parent's code.
        read_end.reset();
        try {
          auto tally = create_over(plan, segments[next].grid, segments[next].limit, false);
          if (!tally.ok()) {
            fprintf(stderr, "rr: %s\n", tally.error().message.c_str());
            _exit(1);
          }
          _exit(write_all(write_end.get(), &tally.value(), sizeof(Tally), "a pipe").ok() ? 0 : 1);
        } catch (const std::exception& e) {
          fprintf(stderr, "rr: %s\n", e.what());
        } catch (...) {
          fprintf(stderr, "rr: the worker for the segment from event %" PRIu64 " failed\n", segments[next].grid.front());
        }
        _exit(1);
      }
      running.emplace(pid, Worker{next++, std::move(read_end)});
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) return make_error("waiting for the workers failed: " + errno_text());
    auto it = running.find(pid);
    if (it == running.end()) continue;
    Tally t;
    // Less than PIPE_BUF: the worker's one write is whole or absent.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && read(it->second.result.get(), &t, sizeof t) == (ssize_t)sizeof t)
      total.add(t);
    else
      ++failed;
    running.erase(it);
  }
  if (failed) return make_error(std::to_string(failed) + " of " + std::to_string(segments.size()) + " segments failed (see above)");
  return total;
}

}  // namespace

int cmd_create_checkpoints(const Args& args) {
  unsigned long long interval = 0, start = 1, end = 0, jobs = 1;
  bool interval_given = false;
  Plan plan;
  std::string trace;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto need = [&](unsigned long long& v) {
      if (i + 1 >= args.size() || !parse_event(args[i + 1], v)) return false;
      ++i;
      return true;
    };
    if (a == "-i" || a == "--interval") {
      if (!need(interval)) return fail("-i needs a number of events");
      if (interval == 0) return fail("-i 0 is not an interval");
      interval_given = true;
    } else if (a == "-s" || a == "--start") {
      if (!need(start)) return fail("-s needs an event number");
    } else if (a == "-e" || a == "--end") {
      if (!need(end)) return fail("-e needs an event number");
    } else if (a == "-j" || a == "--jobs") {
      if (!need(jobs) || jobs == 0 || jobs > 256) return fail("-j needs a number of processes from 1 to 256");
    } else if (a == "--full") {
      plan.full = true;
    } else if (a == "--codec") {
      if (i + 1 >= args.size()) return fail("--codec needs zstd, zlib or none");
      auto c = parse_codec(args[++i]);
      if (!c.ok()) return fail(c.error().message);
      plan.codec = c.value();
    } else if (int status = take_trace_arg("create-checkpoints", a, trace)) {
      return status;
    }
  }
  plan.dir = resolve_trace_dir(trace);
  uint64_t last_ev = 0;
  std::string uuid;
  Status read = read_trace(plan.dir, &last_ev, &uuid, &plan.exit_start);
  if (!read.ok()) return fail(read.error().message);
  if (end == 0 || end > last_ev) end = last_ev;
  if (start < 1) start = 1;
  if (start > end) return fail("-s " + std::to_string(start) + " is past the end (" + std::to_string(end) + ")");
  if (!interval_given) interval = std::max<uint64_t>(1, (end - start + 1) / 10);
  plan.interval = interval;
  remove_stale_temporaries(plan.dir);
  // The requested points: every `interval` events from `start`.
  std::vector<uint64_t> grid;
  for (uint64_t g = start; g <= end; g += interval) grid.push_back(g);
  auto t0 = std::chrono::steady_clock::now();
  Result<Tally> tally = Tally{};
  size_t segment_count = 1;
  if (jobs > 1) {
    std::vector<Segment> segments = segments_of(grid, plan.dir, uuid, end);
    segment_count = segments.size();
    tally = create_in_parallel(plan, segments, (unsigned)jobs);
  } else {
    tally = create_over(plan, grid, end, true);
  }
  if (!tally.ok()) return fail(tally.error().message);
  const Tally& t = tally.value();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  printf("wrote %" PRIu64 " checkpoints (%" PRIu64 " incremental), %" PRIu64
         " bytes, %.3f bytes per resident byte, %.2f s (%.2f s writing, %.0f MB/s of resident memory)\n",
         t.written, t.incremental, t.bytes, t.resident ? double(t.bytes) / double(t.resident) : 0.0, secs, t.write_seconds,
         t.write_seconds > 0 ? t.resident / 1e6 / t.write_seconds : 0.0);
  if (t.unwritten)
    printf("write tracking: %" PRIu64 " of the %" PRIu64 " resident bytes were unchanged since the checkpoint before, not read\n",
           t.unwritten, t.resident);
  printf("requested %zu (every %llu events from %llu to %llu), achieved %" PRIu64, grid.size(), interval, start, end, t.achieved);
  if (t.in_exit)
    printf(" (%" PRIu64 " in the program's exit, from event %" PRIu64 ", by the checkpoint at %" PRIu64 " before it)", t.in_exit,
           t.before_exit + 1, t.before_exit);
  printf("\n");
  if (jobs > 1) printf("replayed %zu segments between existing checkpoints, up to %llu at once\n", segment_count, jobs);
  return 0;
}

}  // namespace rr
