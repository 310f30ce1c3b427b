#include "cli/checkpoint_series.h"

#include <cinttypes>
#include <cstdio>
#include <csignal>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <memory>

#include "checkpoint/restore.h"
#include "cli/progress.h"
#include "core/write_tracker.h"
#include "replay/replay_session.h"
#include "trace/trace_files.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

void SeriesTally::add(const SeriesTally& o) {
  written += o.written, incremental += o.incremental, bytes += o.bytes, resident += o.resident, achieved += o.achieved;
  unwritten += o.unwritten;
  in_exit += o.in_exit, before_exit = std::max(before_exit, o.before_exit);
  if (o.first_missed && (!first_missed || o.first_missed < first_missed)) first_missed = o.first_missed;
  write_seconds += o.write_seconds;
}

// The number of the last event and the trace's id, by reading the event
// stream once; and where the program's exit begins: the first event of the
// run of frames that end a task (frame_ends_a_task) closing the trace.
Status read_series_trace(const std::string& dir, uint64_t* last, std::string* uuid, uint64_t* exit_start) {
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

namespace {

// Replays from the latest checkpoint at or before grid.front() and writes a
// checkpoint at each requested point of `grid`, or at the first event after
// it where one can be written, never past `limit`. A point is achieved by a
// checkpoint in its window; the checkpoint the replay started from achieves
// the point it stands at.
Result<SeriesTally> create_over(const SeriesPlan& plan, const std::vector<RequestedPoint>& grid, uint64_t limit, bool show_progress) {
  SeriesTally tally;
  if (grid.empty()) return tally;
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> session, open_replay_at(plan.dir, grid.front().at, false));
  ReplaySession& s = *session;
  s.set_echo(false);
  // A worker's replay draws none (several would share the line).
  std::optional<Progress> bar;
  if (show_progress) {
    bar.emplace("rr: creating checkpoints");
    s.set_progress([&](uint64_t at) { bar->update(at, limit); });
  }
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
      if (bar) bar->done();
      if (!plan.quiet)
        fprintf(stderr, "rr: no checkpoint from event %" PRIu64 " on: %s\n", s.current_event(),
                stats.error().message.c_str());
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
    if (bar) bar->update(s.current_event(), limit, ", " + std::to_string(tally.written) + " checkpoints");
    return true;
  };
  size_t gi = 0;
  auto serve = [&](uint64_t at) {
    for (; gi < grid.size() && grid[gi].at <= at; ++gi) {
      if (at < grid[gi].until)
        ++tally.achieved;
      else if (!tally.first_missed)
        tally.first_missed = grid[gi].at;
    }
  };
  for (; gi < grid.size() && grid[gi].at < s.current_event(); ++gi) {}
  if (gi < grid.size() && grid[gi].at == s.current_event()) serve(s.current_event());
  while (gi < grid.size()) {
    // The points in the program's exit are stood for by a checkpoint just
    // before it, where the replay can still save every task.
    if (plan.exit_start > 1 && grid[gi].at >= plan.exit_start) {
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
        gi = grid.size();
        break;
      }
      RR_LOG("no checkpoint before the program's exit (event %" PRIu64 "): %s", s.current_event(),
             s.why_no_checkpoint().c_str());
    }
    RR_TRY(s.run_to(grid[gi].at));
    // Events where nothing can be saved (a signal in flight, the exit) are
    // skipped for the next one that can.
    if (!s.can_checkpoint())
      RR_LOG("no checkpoint at event %" PRIu64 ": %s", s.current_event(), s.why_no_checkpoint().c_str());
    while (!s.can_checkpoint() && s.current_event() < limit && !s.exited()) {
      std::string pid_ns = s.pid_namespace_refusal();
      if (!pid_ns.empty() && !told_pid_ns) {
        if (bar) bar->done();
        if (!plan.quiet)
          fprintf(stderr, "rr: no checkpoint at event %" PRIu64 " and after while %s\n", s.current_event(),
                  pid_ns.c_str());
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
  if (gi < grid.size() && !tally.first_missed) tally.first_missed = grid[gi].at;
  return tally;
}

// One segment of the trace for -j: the requested points from one existing
// checkpoint (or the start) to the next, and the event its replay may not
// pass (the next segment's first point is written by that one's worker).
struct Segment {
  std::vector<RequestedPoint> grid;
  uint64_t limit = 0;
};

// Cuts the requested points at the trace's usable checkpoints.
std::vector<Segment> segments_of(const std::vector<RequestedPoint>& grid, const std::string& dir, const std::string& uuid, uint64_t end) {
  std::vector<uint64_t> cuts;
  for (const CheckpointEntry& c : list_checkpoints(dir, uuid))
    if (c.problem.empty() && c.event > grid.front().at && c.event <= end) cuts.push_back(c.event);
  std::vector<Segment> segments(1);
  size_t ci = 0;
  for (const RequestedPoint& g : grid) {
    bool crossed = false;
    for (; ci < cuts.size() && cuts[ci] <= g.at; ++ci) crossed = true;
    if (crossed && !segments.back().grid.empty()) segments.emplace_back();
    segments.back().grid.push_back(g);
  }
  // A segment's replay goes no further than its last point's window, nor
  // into the next segment.
  for (size_t i = 0; i < segments.size(); ++i)
    segments[i].limit = std::min(i + 1 < segments.size() ? segments[i + 1].grid.front().at - 1 : end,
                                 segments[i].grid.back().until - 1);
  return segments;
}

// Runs each segment in a worker process, `jobs` at a time, and adds up
// what they wrote; a worker that fails has printed why, and is counted in
// `failed_segments`.
Result<SeriesTally> create_in_parallel(const SeriesPlan& plan, const std::vector<Segment>& segments, unsigned jobs) {
  struct Worker {
    size_t segment;
    ScopedFd result;
  };
  std::map<pid_t, Worker> running;
  // On an error of the parent's, the workers started go with it.
  auto give_up = [&](const std::string& why) -> Result<SeriesTally> {
    for (auto& [pid, w] : running) kill(pid, SIGKILL);
    for (auto& [pid, w] : running) waitpid(pid, nullptr, 0);
    return make_error(why);
  };
  SeriesTally total;
  size_t next = 0;
  fflush(stdout);
  fflush(stderr);
  while (next < segments.size() || !running.empty()) {
    while (next < segments.size() && running.size() < jobs) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) return give_up("cannot make a pipe for a worker: " + errno_text());
      ScopedFd read_end(fds[0]), write_end(fds[1]);
      pid_t parent = getpid();
      pid_t pid = fork();
      if (pid < 0) return give_up("cannot start a worker: " + errno_text());
      if (pid == 0) {
        // The worker ends here whatever happens: nothing may unwind into
        // the parent's code. It ends with its parent (its tracees with it),
        // and starts with the signal mask and SIGCHLD action a fresh rr
        // has (a recorder's may differ).
        read_end.reset();
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        const char* what = plan.worker_what.c_str();
        try {
          auto tally = create_over(plan, segments[next].grid, segments[next].limit, false);
          if (!tally.ok()) {
            fprintf(stderr, "rr: %s%s\n", what, tally.error().message.c_str());
            _exit(1);
          }
          _exit(write_all(write_end.get(), &tally.value(), sizeof(SeriesTally), "a pipe").ok() ? 0 : 1);
        } catch (const std::exception& e) {
          fprintf(stderr, "rr: %s%s\n", what, e.what());
        } catch (...) {
          fprintf(stderr, "rr: %sthe worker for the segment from event %" PRIu64 " failed\n", what,
                  segments[next].grid.front().at);
        }
        _exit(1);
      }
      running.emplace(pid, Worker{next++, std::move(read_end)});
    }
    int status = 0;
    pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) return give_up("waiting for the workers failed: " + errno_text());
    auto it = running.find(pid);
    if (it == running.end()) continue;
    SeriesTally t;
    // Less than PIPE_BUF: the worker's one write is whole or absent.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && read(it->second.result.get(), &t, sizeof t) == (ssize_t)sizeof t)
      total.add(t);
    else
      ++total.failed_segments;
    running.erase(it);
  }
  return total;
}

}  // namespace

Result<SeriesTally> write_series(const SeriesPlan& plan, const std::string& uuid, const std::vector<RequestedPoint>& points,
                                 uint64_t end, unsigned jobs, size_t* segment_count) {
  *segment_count = 1;
  if (points.empty()) return SeriesTally{};
  if (jobs == 0) return create_over(plan, points, std::min(end, points.back().until - 1), true);
  std::vector<Segment> segments = segments_of(points, plan.dir, uuid, end);
  *segment_count = segments.size();
  return create_in_parallel(plan, segments, jobs);
}

}  // namespace rr
