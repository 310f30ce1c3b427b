#include "gdb/replay_timeline.h"
#include "checkpoint/restore.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint/checkpoint.h"
#include "core/perf_counter.h"
#include "gdb/gdb_connection.h"
#include "trace/block_stream.h"
#include "util/fatal.h"
#include "util/io.h"

namespace rr {

namespace {

constexpr uint64_t kAutoSnapshotInterval = 20000;  // events between automatic snapshots
constexpr uint64_t kNearSpan = 1024;  // the farthest copy left before a replay's target

}  // namespace

namespace {

// Whether the trace's first image has the progress counter (a recording
// made with it rewrites every image it meets; one made without, none).
bool recorded_with_counter(const std::string& trace_dir) {
  auto reader = TraceReader::open(trace_dir);
  if (!reader.ok()) return false;
  auto first = reader.value()->next();
  if (!first.ok() || !first.value()) return false;
  trace::Frame::Reader f = first.value()->frame();
  return f.which() == trace::Frame::EXEC && f.getExec().hasProgressCounter();
}

}  // namespace

ReplayTimeline::ReplayTimeline(std::string trace_dir, pid_t debugged, StopHandler& handler, bool use_checkpoints)
    : trace_dir_(trace_dir), debugged_(debugged), handler_(handler), cache_(trace_dir, use_checkpoints) {
  counter_trace_ = recorded_with_counter(trace_dir_);
  const char* v = getenv("RR_GDB_TICKS");
  ticks_road_ = counter_trace_ && !(v && std::string(v) == "0");
}

std::optional<uint64_t> ReplayTimeline::ticks_here() const {
  if (here_.at_exit) return std::nullopt;
  if (here_.at_boundary()) return counter_trace_ ? std::optional<uint64_t>(0) : std::nullopt;
  return here_.ticks;
}

ReplayTimeline::~ReplayTimeline() {
  session_.reset();
}

bool ReplayTimeline::debuggable(const ReplayTask& rt) const { return handler_.debugs(rt.tgid.value); }

const TrapSet& ReplayTimeline::gdb_traps(const ReplayTask& rt) const {
  static const TrapSet none;
  if (!debuggable(rt)) return none;
  auto it = serve_traps_.find(rt.tgid.value);
  return it == serve_traps_.end() ? none : it->second;
}

void ReplayTimeline::maybe_snapshot(ReplaySession& s) {
  // RR_GDB_AUTO_SNAPSHOTS=0 turns them off (bench/gdb.py compares).
  static const bool off = [] {
    const char* v = getenv("RR_GDB_AUTO_SNAPSHOTS");
    return v && std::string(v) == "0";
  }();
  if (off) return;
  uint64_t e = s.current_event();
  bool toward = mode_ != Mode::Serve;
  bool wanted = (toward && e == target_.event && !target_.at_boundary()) ||
                e >= last_auto_snapshot_event_ + kAutoSnapshotInterval;
  // Copies in memory cost a few milliseconds: a replay toward a point also
  // leaves copies 1, 2, 4, ... 1024 events before it, so that going back
  // again from there starts near (never as files, which cost far more).
  uint64_t before = target_.event - e;
  bool near = toward && SnapshotCache::copies_wanted() && e < target_.event && before <= kNearSpan && (before & (before - 1)) == 0;
  if (!(wanted || near) || !s.can_checkpoint()) return;
  Mark here;
  here.event = e;
  if (cache_.holds(here)) return;
  auto snap = cache_.take(s, here, !wanted);
  if (!snap.ok()) return;  // not fatal: the replay just has fewer places to start from
  last_auto_snapshot_event_ = e;
  snap.value().near = !wanted;
  cache_.keep_automatic(std::move(snap.value()));
}

Result<std::unique_ptr<ReplaySession>> ReplayTimeline::open_for(const Mark& target, Mark* start, bool strict) {
  session_.reset();  // its tasks hold the recorded pids a restore needs
  stretch_base_.reset();
  ticks_now_.reset();
  RR_ASSIGN_OR_RETURN(std::vector<Snapshot> choices, cache_.starting_points());
  bool by_ticks = has_tick_piece(target);
  for (const Snapshot& c : choices) {
    if (!at_or_before(c.mark, target) || c.mark.at_exit || (strict && c.mark == target)) continue;
    // A tick piece needs the ticks made before the snapshot in its stretch.
    if (by_ticks && !c.mark.pieces.empty() && !c.mark.ticks) continue;
    RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, cache_.start_from(c));
    if (!s) continue;
    *start = c.mark;
    // A checkpoint file inside a stretch knows its ticks but not the
    // registers that, with them, name its point for going back by ticks:
    // the restored task of the stretch has them.
    if (counter_trace_ && !c.path.empty() && !start->pieces.empty() && start->ticks && !start->regs)
      if ((start->regs = s->next_event_task_regs())) start->ip = start->regs->ip();
    s->set_echo(false);
    s->set_debugger_stops(true);
    s->set_report_ticks(counter_trace_);
    return s;
  }
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, ReplaySession::open(trace_dir_));
  *start = Mark{};
  s->set_echo(false);
  s->set_debugger_stops(true);
  s->set_report_ticks(counter_trace_);
  return s;
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::arrive(ReplaySession& s, pid_t tid) {
  mode_ = Mode::Serve;
  here_ = target_;
  fold_from_ = {};
  // (X, 0) where the stretch begins at X is the event's boundary itself.
  if (here_.located() && here_.pieces[0].count == 0 && in_target_stretch_ && stretch_ip_ == here_.pieces[0].until) {
    here_.pieces.clear();
    skip_ip_ = {};  // as `run EVT` leaves it
  }
  locating_ = false;
  if (auto it = s.tasks().find(RecordedTid{tid}); it != s.tasks().end() && !here_.pieces.empty()) {
    here_.ip = it->second->task->regs().ip();
    // Arrived by running (a stretch began in this replay): what the stop
    // knows; else the start's own hints stay (go_to).
    if (!stretch_ip_.is_null()) {
      here_.ticks = ticks_now_;
      here_.regs = it->second->task->regs();
    }
    // At a tick position, as at a position (X, k), the next run steps over
    // a breakpoint here: gdb may not know this thread stopped at it (a
    // restart reports the debugged process's first thread).
    if (here_.tick_located()) skip_ip_ = here_.ip;
  }
  StopInfo stop = arrival_;
  if (!stop.tid) stop.tid = tid;
  return serve(s, stop);
}

Result<std::unique_ptr<ReplaySession>> ReplayTimeline::open_toward(Mode mode, const Mark& target, bool strict,
                                                                   Mark* start) {
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> opened, open_for(target, start, strict));
  mode_ = mode;
  target_ = target;
  lenient_ = false;
  here_ = *start;
  in_target_stretch_ = start->event == target.event && !start->at_boundary();
  RouteProgress progress = progress_of(*start, target);
  piece_index_ = progress.piece;
  piece_done_ = progress.done;
  probe_steps_ = 0;
  last_auto_snapshot_event_ = start->event;
  return opened;
}

ReplayTimeline::Leave ReplayTimeline::go_to(const Mark& target, const StopInfo& stop, bool lenient) {
  Mark start;
  auto opened = open_toward(Mode::Navigate, target, false, &start);
  if (!opened.ok()) return Leave::failed(opened.error().message);
  session_ = std::move(opened.value());
  lenient_ = lenient;
  arrival_ = stop;
  if (start == target && start.event > 0) {
    stretch_ip_ = {};  // not seen: no stretch began in this replay
    target_.ticks = start.ticks;
    target_.regs = start.regs;
    if (auto leave = arrive(*session_, debugged_)) return *leave;
  }
  return drive(*session_);
}

ReplayTimeline::Outcome<std::optional<std::pair<Mark, TrapHit>>> ReplayTimeline::last_hit_before(const Mark& target) {
  Mark end = target;
  ProcessTraps gdb_traps = handler_.traps();
  for (;;) {
    serve_traps_ = gdb_traps;
    last_hit_.reset();
    Mark start;
    // From strictly before `end`.
    if (auto leave = replay_for_goal(Mode::Search, end, true, &start)) return *leave;
    if (last_hit_) return std::move(last_hit_);
    if (start.event == 0) return std::nullopt;
    end = start;
  }
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::replay_for_goal(Mode mode, const Mark& target, bool strict,
                                                                     Mark* start) {
  Mark from;
  auto opened = open_toward(mode, target, strict, start ? start : &from);
  if (!opened.ok()) return Leave::failed(opened.error().message);
  Leave leave = drive(*opened.value());
  if (leave.kind == Leave::Goal) return std::nullopt;
  return leave;
}

bool ReplayTimeline::counters_work() { return counters_unavailable().empty(); }

std::string ReplayTimeline::counters_unavailable() {
  // RR_GDB_COUNTERS=0 turns them off (bench/gdb.py compares).
  static const std::string why = []() -> std::string {
    const char* v = getenv("RR_GDB_COUNTERS");
    if (v && std::string(v) == "0") return "hardware breakpoint counters cannot be used: turned off by RR_GDB_COUNTERS=0";
    Status s = ExecutionCounter::available();
    if (!s.ok()) return "hardware breakpoint counters cannot be used on this machine (" + s.error().message + ")";
    return "";
  }();
  return why;
}

void ReplayTimeline::tell_slow_road(const std::string& what) {
  // Once per distinct line: a search may take the same road many times.
  if (!told_.insert(what).second) return;
  fprintf(stderr, "rr: %s\n", what.c_str());
}

ReplayTimeline::Outcome<std::optional<ReplayTimeline::Count>> ReplayTimeline::count_to(const Mark m, RemotePtr<> addr) {
  no_count_why_.clear();
  if (m.pieces.empty() || m.at_exit || addr.is_null()) {
    no_count_why_ = "the point is at an event";
    return std::optional<Count>();
  }
  if (!counters_work()) {
    no_count_why_ = counters_unavailable();
    return std::optional<Count>();
  }
  // The route's debug registers, its counted piece's and the stretch's
  // counter: four at most.
  size_t regs = 0;
  for (const Piece& p : m.pieces) regs = std::max(regs, p.traps.hw.size() + (p.until.is_null() ? 0 : 1));
  if (regs + 1 > 4) {
    no_count_why_ = "the route to the point holds " + std::to_string(regs) +
                    " debug registers and counting needs one more of the 4";
    return std::optional<Count>();
  }
  // From the stretch's start: a snapshot at its boundary or earlier.
  Mark boundary;
  boundary.event = m.event;
  Mark start;
  auto opened = open_toward(Mode::Navigate, boundary, false, &start);
  if (!opened.ok()) return Leave::failed(opened.error().message);
  target_ = m;
  in_target_stretch_ = false;
  piece_index_ = 0;
  piece_done_ = 0;
  counting_ = true;
  count_addr_ = addr;
  count_result_.reset();
  Leave leave = drive(*opened.value());
  counting_ = false;
  if (leave.kind != Leave::Goal) return leave;
  if (!count_result_) no_count_why_ = "the re-run of the stretch did not reach the point";
  return count_result_;
}

ReplayTimeline::Outcome<Mark> ReplayTimeline::locate(const Mark m, bool counters_only) {
  if (m.located() || m.pieces.empty() || m.at_exit) return m;
  std::string ticks_why;
  if (ticks_road_ && !counters_only) {
    if (m.tick_located()) return m;
    auto by_ticks = locate_by_ticks(m);
    if (auto* leave = std::get_if<Leave>(&by_ticks)) return *leave;
    const Mark& l = std::get<Mark>(by_ticks);
    if (l.tick_located() || l.at_boundary()) return l;
    ticks_why = no_count_why_;
  }
  auto counted = locate_by_counters(m);
  if (auto* l = std::get_if<Mark>(&counted); l && !ticks_why.empty() && !l->located() && !l->at_boundary())
    no_count_why_ = ticks_why + "; " + no_count_why_;
  return counted;
}

ReplayTimeline::Outcome<Mark> ReplayTimeline::locate_by_ticks(const Mark m) {
  if (!m.ticks || !m.regs || *m.ticks > UINT32_MAX) {
    no_count_why_ = "the progress counter's ticks at the point are not known";
    return m;
  }
  uint64_t t = *m.ticks;
  // From the point where the stretch made tick t (or from its start), the
  // point is the first stop at tick t with its registers.
  Mark base;
  base.event = m.event;
  if (t > 0) base.pieces.push_back(tick_piece((uint32_t)t));
  probe_state_ = m.regs;
  probe_ticks_ = t;
  probe_gave_up_ = false;
  probe_to_event_ = false;
  probe_goal_ = Piece{};
  probe_found_steps_.reset();
  // Strictly before the base: a snapshot at it would start past the check
  // of the base itself.
  auto leave = replay_for_goal(Mode::Probe, base, true, nullptr);
  probe_state_.reset();
  if (leave) return *leave;
  if (!probe_found_steps_) {
    no_count_why_ = "the replay to the progress counter's tick " + std::to_string(t) + " (event " +
                    std::to_string(m.event) + ") did not come to the point within " + std::to_string(kTickProbeSteps) +
                    " steps";
    return m;
  }
  Mark l = Mark::at(TickPosition{m.event, t, *probe_found_steps_});
  l.ip = m.ip;
  l.regs = m.regs;
  return l;
}

ReplayTimeline::Leave ReplayTimeline::go_to_by_ticks(const Mark& m, const StopInfo& stop) {
  if (!m.ticks || !m.regs || *m.ticks > UINT32_MAX || m.pieces.empty() || m.at_exit) return go_to(m, stop);
  uint64_t t = *m.ticks;
  Mark base;
  base.event = m.event;
  if (t > 0) base.pieces.push_back(tick_piece((uint32_t)t));
  Mark start;
  auto opened = open_toward(Mode::Probe, base, true, &start);
  if (!opened.ok()) return Leave::failed(opened.error().message);
  session_ = std::move(opened.value());
  probe_state_ = m.regs;
  probe_ticks_ = t;
  probe_gave_up_ = false;
  probe_to_event_ = false;
  probe_goal_ = Piece{};
  probe_found_steps_.reset();
  probe_arrives_ = true;
  arrival_ = stop;
  lenient_ = false;
  Leave leave = drive(*session_);
  probe_arrives_ = false;
  probe_state_.reset();
  // Not found (code the counter does not cover): by the point's route.
  if (leave.kind == Leave::Goal) return go_to(m, stop);
  return leave;
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::tick_probe_found(ReplaySession& s, ReplayTask& rt, uint32_t steps) {
  probe_found_steps_ = steps;
  if (!probe_arrives_) return Leave::goal();
  // go_to_by_ticks: the point, named by its ticks, is where gdb is served.
  probe_arrives_ = false;
  probe_state_.reset();
  mode_ = Mode::Navigate;
  Mark m = Mark::at(TickPosition{target_.event, probe_ticks_, steps});
  target_ = m;
  RemotePtr<> ip = rt.task->regs().ip();
  // Stopped at a breakpoint gdb was told of: the next run steps over it,
  // as after a run that hit it.
  if (arrival_.kind == StopInfo::Hit && (arrival_.hit.kind == TrapHit::Software ||
                                          (arrival_.hit.kind == TrapHit::Hardware && arrival_.hit.watch == WatchKind::Exec)))
    skip_ip_ = ip;
  return arrive(s, rt.recorded().value);
}

ReplayTimeline::Outcome<Mark> ReplayTimeline::locate_by_counters(const Mark m) {
  if (m.ip.is_null()) {
    no_count_why_ = "the point has no instruction address";
    return m;
  }
  auto counted = count_to(m, m.ip);
  if (auto* leave = std::get_if<Leave>(&counted)) return *leave;
  const std::optional<Count>& c = std::get<std::optional<Count>>(counted);
  // Between two iterations of a repeated string instruction no position
  // names the point: (X, k) is before X starts.
  if (!c) return m;
  if (c->ip != m.ip) {
    no_count_why_ = "the re-run of the stretch stopped at 0x" + hex_u64(c->ip.as_int()) + ", not at the point's 0x" + hex_u64(m.ip.as_int());
    return m;
  }
  if (c->inside) {
    no_count_why_ = "the point is between two iterations of a repeated string instruction";
    return m;
  }
  if (c->executions >= UINT32_MAX) {
    no_count_why_ = "its instruction ran more than 2^32-2 times in the stretch";
    return m;
  }
  if (c->executions == 0 && c->stretch_ip == m.ip) {
    Mark b;  // the stretch's first instruction, not run yet: the boundary
    b.event = m.event;
    return b;
  }
  Mark l = Mark::at(Position{m.event, m.ip, c->executions});
  // The same point by another name: an arrival by the counters later is
  // checked against its registers (check_counted_arrival).
  l.regs = m.regs;
  return l;
}

ReplayTimeline::Outcome<std::optional<int>> ReplayTimeline::compare(const Mark a, const Mark b) {
  if (auto known = route_order(a, b)) return known;
  // At the same tick (different ticks compare as they are): each named by
  // its ticks, the steps from that tick order them.
  if (ticks_road_ && a.ticks && b.ticks) {
    auto ta = locate(a);
    if (auto* leave = std::get_if<Leave>(&ta)) return *leave;
    auto tb = locate(b);
    if (auto* leave = std::get_if<Leave>(&tb)) return *leave;
    if (auto known = route_order(std::get<Mark>(ta), std::get<Mark>(tb))) return known;
  }
  auto located_b = locate(b, true);
  if (auto* leave = std::get_if<Leave>(&located_b)) return *leave;
  const Mark lb = std::get<Mark>(located_b);
  if (lb.at_boundary()) {
    auto located_a = locate(a, true);
    if (auto* leave = std::get_if<Leave>(&located_a)) return *leave;
    return std::optional<int>(std::get<Mark>(located_a).at_boundary() ? 0 : 1);
  }
  if (!lb.located()) return std::optional<int>();
  RemotePtr<> x = lb.pieces[0].until;
  uint64_t k = lb.pieces[0].count;
  if (a.located() && a.pieces[0].until == x)
    return std::optional<int>(a.pieces[0].count < k ? -1 : a.pieces[0].count > k ? 1 : 0);
  // One re-run to a, counting x: with c executions of x begun before a, a
  // comes before b (x about to run for the (k+1)-th time) iff c < k, or
  // c == k and a is not at x.
  auto counted = count_to(a, x);
  if (auto* leave = std::get_if<Leave>(&counted)) return *leave;
  const std::optional<Count>& c = std::get<std::optional<Count>>(counted);
  if (!c) return std::optional<int>();
  if (c->executions != k) return std::optional<int>(c->executions < k ? -1 : 1);
  if (c->ip != x) return std::optional<int>(-1);
  return std::optional<int>(c->inside ? 1 : 0);  // inside execution k + 1 of x, which b is just before
}

ReplayTimeline::Outcome<std::optional<Mark>> ReplayTimeline::previous_instruction(const Mark& target) {
  if (target.at_boundary() && target.event <= beginning().event) return std::optional<Mark>();
  if (!target.pieces.empty() && target.pieces.back().step) {
    Mark m = target;
    if (--m.pieces.back().count == 0) m.pieces.pop_back();
    m.ticks.reset();  // the target's, not this point's
    m.regs.reset();
    return std::optional<Mark>(m);
  }
  // In a trace with the progress counter, the target's ticks and registers
  // name it: one replay to the tick before it and a few steps.
  if (ticks_road_) {
    auto by_ticks = previous_by_ticks(target);
    if (auto* leave = std::get_if<Leave>(&by_ticks)) return *leave;
    if (auto& prev = std::get<std::optional<Mark>>(by_ticks)) return prev;
  }
  // Deep in a long stretch, stepping from the point before the last run is
  // slow: name the target by its position (X, k) instead, reach (X, k - 1)
  // with a counter, and step only from there.
  Mark t = target;
  if (!t.pieces.empty() && !t.located()) {
    auto located = locate(t, true);  // the ticks' road was tried above
    if (auto* leave = std::get_if<Leave>(&located)) return *leave;
    const Mark l = std::get<Mark>(located);
    if (l.at_boundary()) return previous_instruction(l);
    if (l.located()) t = l;
  }
  Mark base = t;
  base.ticks.reset();  // the target's, not the base's
  base.regs.reset();
  probe_to_event_ = t.pieces.empty();
  if (!t.pieces.empty()) {
    const Piece last = t.pieces.back();
    if (!last.until.is_null()) {
      // Counted: step on from the arrival before (the next one is it).
      probe_goal_ = Piece{};
      probe_goal_.traps.sw.push_back(last.until);
      base.pieces.pop_back();
      if (last.whole && last.count > 0) base.pieces.push_back(whole_piece(last.until, last.count - 1));
      if (!last.whole && last.count > 1) base.pieces.push_back(counted_piece(last.until, last.count - 1));
    } else {
      // No counter: step from the point before the last run.
      tell_slow_road("going back one instruction by single steps from the start of the last run (event " +
                     std::to_string(t.event) + "), not with a counter: " + no_position_why());
      probe_goal_ = last;
      probe_goal_.count = 1;
      if (--base.pieces.back().count == 0) base.pieces.pop_back();
    }
  } else if (target.at_exit) {
    base.at_exit = false;
  } else {
    base.event = target.event - 1;
  }
  if (auto leave = replay_for_goal(Mode::Probe, base, false, nullptr)) return *leave;
  Mark prev = base;
  if (probe_steps_ > 0) add_piece(prev, step_piece(probe_steps_));
  return std::optional<Mark>(prev);
}

ReplayTimeline::Outcome<std::optional<Mark>> ReplayTimeline::previous_by_ticks(const Mark& target) {
  if (target.pieces.empty() || target.at_exit || !target.ticks || !target.regs || *target.ticks > UINT32_MAX)
    return std::optional<Mark>();
  uint64_t t = *target.ticks;
  // From tick t - 1 (in its stub, before tick t's branch) on, the target is
  // the first stop at tick t with its registers. Tick 0 and 1: from the
  // stretch's start.
  Mark base;
  base.event = target.event;
  if (t >= 2) base.pieces.push_back(tick_piece((uint32_t)(t - 1)));
  probe_state_ = target.regs;
  probe_ticks_ = t;
  probe_gave_up_ = false;
  probe_to_event_ = false;
  probe_goal_ = Piece{};
  auto leave = replay_for_goal(Mode::Probe, base, false, nullptr);
  probe_state_.reset();
  if (leave) return *leave;
  if (probe_gave_up_) {
    tell_slow_road("the progress counter did not lead back to the point (event " + std::to_string(target.event) +
                   ", tick " + std::to_string(t) + ") within " + std::to_string(kTickProbeSteps) +
                   " steps; going back another way");
    return std::optional<Mark>();
  }
  Mark prev = base;
  if (probe_steps_ > 0) add_piece(prev, step_piece(probe_steps_));
  return std::optional<Mark>(prev);
}

// --- gdb checkpoints --------------------------------------------------------

Result<int> ReplayTimeline::add_checkpoint(ReplaySession& s, const std::string& note) {
  if (here_.at_exit) return make_error("no checkpoint can be taken at the end of the process");
  if (!s.can_checkpoint())
    return make_error("no checkpoint can be taken here (a vfork, exec, exit or signal is under way); step on and try again");
  RR_ASSIGN_OR_RETURN(Snapshot snap, cache_.take(s, here_, false));
  return cache_.add_checkpoint(std::move(snap), note);
}

bool ReplayTimeline::all_located(bool for_files) const {
  auto named = [&](const Mark& m) {
    return m.located() || (!for_files && ticks_road_ && m.tick_located()) || m.pieces.empty() || m.ip.is_null();
  };
  if (!named(here_)) return false;
  return std::all_of(cache_.all().begin(), cache_.all().end(),
                     [&](const Snapshot& c) { return !c.id || c.persistent || named(c.mark); });
}

bool ReplayTimeline::checkpoints_ordered() const {
  std::vector<int> sorted = order_;
  std::sort(sorted.begin(), sorted.end());
  return sorted == cache_.checkpoint_ids();
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::order_checkpoints() {
  // By id and mark (copies): compare() re-runs, which adds and drops
  // automatic snapshots under our feet.
  std::vector<std::pair<int, Mark>> out;
  for (const Snapshot& c : cache_.all())
    if (c.id) out.emplace_back(c.id, c.mark);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Insertion by compare(): points of one stretch at different instructions
  // are ordered by re-running it. Undecided pairs keep their id order.
  for (size_t i = 1; i < out.size(); ++i)
    for (size_t j = i; j > 0; --j) {
      auto compared = compare(out[j - 1].second, out[j].second);
      if (auto* leave = std::get_if<Leave>(&compared)) return *leave;
      const std::optional<int>& c = std::get<std::optional<int>>(compared);
      if (!c || *c <= 0) break;
      std::swap(out[j - 1], out[j]);
    }
  order_.clear();
  for (const auto& c : out) order_.push_back(c.first);
  return std::nullopt;
}

std::vector<const Snapshot*> ReplayTimeline::checkpoints_in_order() const {
  std::vector<const Snapshot*> out;
  std::vector<int> ids = checkpoints_ordered() ? order_ : cache_.checkpoint_ids();
  for (int id : ids)
    for (const Snapshot& c : cache_.all())
      if (c.id == id) out.push_back(&c);
  return out;
}

// --- the session loop -------------------------------------------------------

Status ReplayTimeline::run(const Mark& start) {
  TimelineJump next;
  next.kind = TimelineJump::Goto;
  next.mark = start;
  next.stop.kind = StopInfo::Arrived;
  while (next.kind != TimelineJump::Quit) {
    Leave leave;
    try {
      leave = take(next);
    } catch (const FatalError& e) {
      leave = Leave::failed(e.what());
    }
    switch (leave.kind) {
      case Leave::Jump:
        next = std::move(leave.jump);
        break;
      case Leave::Failed:
        session_.reset();
        return make_error(leave.failure);
      case Leave::Goal:
        session_.reset();
        return make_error("internal error: a search ended outside its replay");
    }
  }
  session_.reset();
  return {};
}

ReplayTimeline::Leave ReplayTimeline::take(const TimelineJump& j) {
  switch (j.kind) {
    case TimelineJump::Quit:
      break;
    case TimelineJump::Goto:
      return go_to(j.mark, j.stop, j.user_position);
    case TimelineJump::Locate: {
      // Off the live replay: each locate() re-runs a stretch. Then back
      // to the same point, by its position now.
      locating_ = true;  // no ^C stop inside the re-runs or the way back
      auto located_here = locate(here_, j.for_files);
      if (auto* leave = std::get_if<Leave>(&located_here)) return *leave;
      Mark back = std::get<Mark>(located_here);
      // Re-runs add and drop automatic snapshots: find each one by id again.
      for (int id : cache_.checkpoint_ids()) {
        Snapshot* c = cache_.checkpoint(id);
        if (!c || c->persistent) continue;
        auto located = locate(c->mark, j.for_files);
        if (auto* leave = std::get_if<Leave>(&located)) return *leave;
        if ((c = cache_.checkpoint(id))) c->mark = std::get<Mark>(located);
      }
      if (auto leave = order_checkpoints()) return *leave;
      StopInfo stop = j.stop;
      stop.quiet = true;
      return go_to(back, stop);
    }
    case TimelineJump::ReverseContinue: {
      Mark from = here_;
      auto searched = last_hit_before(from);
      if (auto* leave = std::get_if<Leave>(&searched)) return *leave;
      const auto& found = std::get<std::optional<std::pair<Mark, TrapHit>>>(searched);
      StopInfo stop;
      if (!found) {
        stop.kind = StopInfo::HistoryBegin;
        return go_to(beginning(), stop);
      }
      stop.kind = StopInfo::Hit;
      stop.hit = found->second;
      Mark where = found->first;
      if (stop.hit.kind == TrapHit::Hardware && stop.hit.watch != WatchKind::Exec) {
        // Going backwards, a watchpoint stops before the access.
        auto probed = previous_instruction(where);
        if (auto* leave = std::get_if<Leave>(&probed)) return *leave;
        if (const auto& prev = std::get<std::optional<Mark>>(probed)) where = *prev;
      }
      // A breakpoint's hit whose ticks are known: one replay to its tick
      // and a few steps, where its route re-runs every hit before it.
      if (ticks_road_ && where.ticks && where.regs) return go_to_by_ticks(where, stop);
      return go_to(where, stop);
    }
    case TimelineJump::ReverseStep: {
      Mark from = here_;
      auto probed = previous_instruction(from);
      if (auto* leave = std::get_if<Leave>(&probed)) return *leave;
      const std::optional<Mark>& prev = std::get<std::optional<Mark>>(probed);
      StopInfo stop;
      stop.kind = prev ? StopInfo::Step : StopInfo::HistoryBegin;
      return go_to(prev ? *prev : beginning(), stop);
    }
  }
  return Leave::to(TimelineJump{});
}

}  // namespace rr
