#include "gdb/replay_timeline.h"
#include "checkpoint/restore.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

// Unwinds a replay whose goal (a search's or a probe's end) was reached.
struct GoalReached {};
struct ReplayFailed {
  std::string message;
};

constexpr uint64_t kAutoSnapshotInterval = 20000;  // events between automatic snapshots
constexpr uint64_t kNearSpan = 1024;  // the farthest copy left before a replay's target

}  // namespace

ReplayTimeline::ReplayTimeline(std::string trace_dir, pid_t debugged, StopHandler& handler, bool use_checkpoints)
    : trace_dir_(trace_dir), debugged_(debugged), handler_(handler), cache_(trace_dir, use_checkpoints) {}

ReplayTimeline::~ReplayTimeline() {
  session_.reset();
}

bool ReplayTimeline::debuggable(const ReplayTask& rt) const { return rt.tgid == debugged_; }

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
  RR_ASSIGN_OR_RETURN(std::vector<Snapshot> choices, cache_.starting_points());
  for (const Snapshot& c : choices) {
    if (!at_or_before(c.mark, target) || c.mark.at_exit || (strict && c.mark == target)) continue;
    RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, cache_.start_from(c));
    if (!s) continue;
    *start = c.mark;
    s->set_echo(false);
    s->set_hook(this);
    return s;
  }
  RR_ASSIGN_OR_RETURN(std::unique_ptr<ReplaySession> s, ReplaySession::open(trace_dir_));
  *start = Mark{};
  s->set_echo(false);
  s->set_hook(this);
  return s;
}

void ReplayTimeline::drive(ReplaySession& s) {
  Status st = s.run_to(0);
  if (!st.ok()) throw ReplayFailed{st.error().message};
  if (mode_ == Mode::Search || mode_ == Mode::Probe) throw GoalReached{};
  // The trace is over: every forward move reports the same end.
  StopInfo end;
  end.kind = StopInfo::Ended;
  end.exit_code = s.exit_code();
  end.killed_by = s.killed_by();
  end.tid = debugged_;
  if (mode_ == Mode::Navigate) {
    mode_ = Mode::Serve;
    here_ = Mark{};
    here_.event = s.current_event();
  }
  for (;;) ask(s, end);
}

void ReplayTimeline::arrive(ReplaySession& s, pid_t tid) {
  mode_ = Mode::Serve;
  here_ = target_;
  fold_from_ = 0;
  // (X, 0) where the stretch begins at X is the event's boundary itself.
  if (here_.located() && here_.pieces[0].count == 0 && in_target_stretch_ && stretch_ip_ == here_.pieces[0].until) {
    here_.pieces.clear();
    skip_ip_ = 0;  // as `run EVT` leaves it
  }
  locating_ = false;
  if (auto it = s.tasks().find(tid); it != s.tasks().end() && !here_.pieces.empty()) here_.ip = it->second->task->regs().ip().as_int();
  StopInfo stop = arrival_;
  if (!stop.tid) stop.tid = tid;
  bool stuck = stop.kind == StopInfo::ProcessExit;
  do {
    serve(s, stop);
  } while (stuck);  // nothing runs past the debugged process's exit
}

std::unique_ptr<ReplaySession> ReplayTimeline::open_toward(Mode mode, const Mark& target, bool strict, Mark* start) {
  auto opened = open_for(target, start, strict);
  if (!opened.ok()) throw ReplayFailed{opened.error().message};
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
  return std::move(opened.value());
}

void ReplayTimeline::go_to(const Mark& target, const StopInfo& stop, bool lenient) {
  Mark start;
  session_ = open_toward(Mode::Navigate, target, false, &start);
  lenient_ = lenient;
  arrival_ = stop;
  if (start == target && start.event > 0) {
    stretch_ip_ = 0;  // not seen: no stretch began in this replay
    pid_t tid = debugged_;
    arrive(*session_, tid);
  }
  drive(*session_);
}

std::optional<std::pair<Mark, TrapHit>> ReplayTimeline::last_hit_before(const Mark& target) {
  Mark end = target;
  TrapSet gdb_traps = handler_.traps();
  for (;;) {
    serve_traps_ = gdb_traps;
    last_hit_.reset();
    Mark start;
    replay_for_goal(Mode::Search, end, true, &start);  // from strictly before `end`
    if (last_hit_) return std::move(last_hit_);
    if (start.event == 0) return std::nullopt;
    end = start;
  }
}

void ReplayTimeline::replay_for_goal(Mode mode, const Mark& target, bool strict, Mark* start) {
  Mark from;
  std::unique_ptr<ReplaySession> s = open_toward(mode, target, strict, start ? start : &from);
  try {
    drive(*s);
  } catch (const GoalReached&) {
  }
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

std::optional<ReplayTimeline::Count> ReplayTimeline::count_to(const Mark m, uint64_t addr) {
  no_count_why_.clear();
  if (m.pieces.empty() || m.at_exit || !addr) {
    no_count_why_ = "the point is at an event";
    return std::nullopt;
  }
  if (!counters_work()) {
    no_count_why_ = counters_unavailable();
    return std::nullopt;
  }
  // The route's debug registers, its counted piece's and the stretch's
  // counter: four at most.
  size_t regs = 0;
  for (const Piece& p : m.pieces) regs = std::max(regs, p.traps.hw.size() + (p.until ? 1 : 0));
  if (regs + 1 > 4) {
    no_count_why_ = "the route to the point holds " + std::to_string(regs) +
                    " debug registers and counting needs one more of the 4";
    return std::nullopt;
  }
  // From the stretch's start: a snapshot at its boundary or earlier.
  Mark boundary;
  boundary.event = m.event;
  Mark start;
  std::unique_ptr<ReplaySession> s = open_toward(Mode::Navigate, boundary, false, &start);
  target_ = m;
  in_target_stretch_ = false;
  piece_index_ = 0;
  piece_done_ = 0;
  counting_ = true;
  count_addr_ = addr;
  count_result_.reset();
  try {
    drive(*s);
  } catch (const GoalReached&) {
  } catch (...) {
    counting_ = false;
    throw;
  }
  counting_ = false;
  if (!count_result_) no_count_why_ = "the re-run of the stretch did not reach the point";
  return count_result_;
}

Mark ReplayTimeline::locate(const Mark m) {
  if (m.located() || m.pieces.empty() || m.at_exit) return m;
  if (!m.ip) {
    no_count_why_ = "the point has no instruction address";
    return m;
  }
  auto c = count_to(m, m.ip);
  // Between two iterations of a repeated string instruction no position
  // names the point: (X, k) is before X starts.
  if (!c) return m;
  if (c->ip != m.ip) {
    no_count_why_ = "the re-run of the stretch stopped at 0x" + hex_u64(c->ip) + ", not at the point's 0x" + hex_u64(m.ip);
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
  return Mark::at(Position{m.event, m.ip, c->executions});
}

std::optional<int> ReplayTimeline::compare(const Mark a, const Mark b) {
  if (auto known = route_order(a, b)) return known;
  Mark lb = locate(b);
  if (lb.at_boundary()) return locate(a).at_boundary() ? 0 : 1;
  if (!lb.located()) return std::nullopt;
  uint64_t x = lb.pieces[0].until, k = lb.pieces[0].count;
  if (a.located() && a.pieces[0].until == x) return a.pieces[0].count < k ? -1 : a.pieces[0].count > k ? 1 : 0;
  // One re-run to a, counting x: with c executions of x begun before a, a
  // comes before b (x about to run for the (k+1)-th time) iff c < k, or
  // c == k and a is not at x.
  auto c = count_to(a, x);
  if (!c) return std::nullopt;
  if (c->executions != k) return c->executions < k ? -1 : 1;
  if (c->ip != x) return -1;
  return c->inside ? 1 : 0;  // inside execution k + 1 of x, which b is just before
}

std::optional<Mark> ReplayTimeline::previous_instruction(const Mark& target) {
  if (target.at_boundary() && target.event <= beginning().event) return std::nullopt;
  if (!target.pieces.empty() && target.pieces.back().step) {
    Mark m = target;
    if (--m.pieces.back().count == 0) m.pieces.pop_back();
    return m;
  }
  // Deep in a long stretch, stepping from the point before the last run is
  // slow: name the target by its position (X, k) instead, reach (X, k - 1)
  // with a counter, and step only from there.
  Mark t = target;
  if (!t.pieces.empty() && !t.located()) {
    Mark l = locate(t);
    if (l.at_boundary()) return previous_instruction(l);
    if (l.located()) t = l;
  }
  Mark base = t;
  probe_to_event_ = t.pieces.empty();
  if (!t.pieces.empty()) {
    const Piece last = t.pieces.back();
    if (last.until) {
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
  replay_for_goal(Mode::Probe, base, false, nullptr);
  Mark prev = base;
  if (probe_steps_ > 0) add_piece(prev, step_piece(probe_steps_));
  return prev;
}

// --- ExecutionHook --------------------------------------------------------

void ReplayTimeline::stretch_begins(ReplaySession& s, ReplayTask& rt) {
  uint64_t e = s.current_event();
  if (here_.event == e && !here_.pieces.empty() && !here_.at_exit) {
    // Resumed inside a stretch (a restore): it stopped at a hit or a
    // counted arrival unless its last piece was a step.
    const Piece& last = here_.pieces.back();
    skip_ip_ = last.step ? 0 : rt.task->regs().ip().as_int();
    return;
  }
  skip_ip_ = 0;
  fold_from_ = 0;
  here_ = Mark{};
  here_.event = e;
  stretch_ip_ = rt.task->regs().ip().as_int();
  in_target_stretch_ = mode_ != Mode::Serve && e == target_.event && !target_.at_exit;
  piece_index_ = 0;
  piece_done_ = 0;
}

ExecutionHook::Directive ReplayTimeline::next_piece(ReplaySession&, ReplayTask& rt) {
  Directive d;
  piece_from_hit_ = 0;
  if (skip_ip_) {
    d.skip_current = skip_ip_ == rt.task->regs().ip().as_int();
    if (d.skip_current) piece_from_hit_ = skip_ip_;
    skip_ip_ = 0;
  }
  switch (mode_) {
    case Mode::Serve:
      if (!debuggable(rt)) return d;
      d.step = resume_.step && (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded_tid());
      if (!serve_traps_.empty()) d.traps = &serve_traps_;
      return d;
    case Mode::Navigate:
    case Mode::Probe:
      if (!in_target_stretch_) return d;
      if (piece_index_ < target_.pieces.size()) {
        const Piece& p = target_.pieces[piece_index_];
        if (p.until) {
          d.until = p.until;
          d.until_count = p.count;
          if (p.whole) {
            // Arrival k + 1 at X, from the stretch's start or from an
            // arrival at X already reached (a snapshot there).
            d.until_count = p.count + 1 - piece_done_;
            d.count_first = piece_done_ == 0;
          }
          return d;
        }
        d.step = p.step;
        if (!p.step) d.traps = &p.traps;
        return d;
      }
      // Probe: past the base, one instruction at a time, watching the goal's watchpoints.
      d.step = true;
      union_traps_ = TrapSet{};
      if (!probe_to_event_)
        for (const HwWatch& w : probe_goal_.traps.hw)
          if (w.kind != WatchKind::Exec) union_traps_.hw.push_back(w);
      d.traps = &union_traps_;
      return d;
    case Mode::Search:
      if (in_target_stretch_ && piece_index_ < target_.pieces.size()) {
        const Piece p = search_form(target_.pieces[piece_index_]);
        // A counted piece of a route does not count the instruction it
        // starts at. A whole one counts every arrival; one it resumes from
        // (a snapshot there) is stepped over by skip_ip_.
        const Piece& c = target_.pieces[piece_index_];
        if (c.until && !c.whole && piece_done_ == 0) d.skip_current = true;
        d.step = p.step;
        union_traps_ = p.step ? (debuggable(rt) ? serve_traps_ : TrapSet{}) : merged_traps(p.traps, debuggable(rt) ? serve_traps_ : TrapSet{});
        d.traps = &union_traps_;
        return d;
      }
      if (debuggable(rt) && !serve_traps_.empty()) d.traps = &serve_traps_;
      return d;
  }
  return d;
}

void ReplayTimeline::on_trap(ReplaySession& s, ReplayTask& rt, const TrapHit& hit) {
  uint64_t ip = rt.task->regs().ip().as_int();
  here_.ip = ip;
  // Stopped before an instruction with a breakpoint, or at a counted
  // arrival there (a position: about to run it): the next run steps over a
  // breakpoint at it, whichever road reached the point.
  skip_ip_ = hit.kind == TrapHit::Software || hit.kind == TrapHit::Counted ||
                     (hit.kind == TrapHit::Hardware && hit.watch == WatchKind::Exec)
                 ? ip
                 : 0;
  switch (mode_) {
    case Mode::Serve: {
      bool stepped = resume_.step && (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded_tid());
      if (stepped) {
        // gdb steps over a breakpoint it stopped at by itself (out, step,
        // in, continue): remember when this step may be such a step-over.
        bool lone = here_.pieces.empty() || here_.pieces.back().step == false;
        fold_from_ = lone && !here_.pieces.empty() ? piece_from_hit_ : 0;
        add_piece(here_, step_piece(1));
      } else if (fold_from_ && here_.pieces.size() >= 2 && here_.pieces.back().step && here_.pieces.back().count == 1 &&
                 !here_.pieces[here_.pieces.size() - 2].step && here_.pieces[here_.pieces.size() - 2].traps == serve_traps_ && serve_traps_.breaks_at(fold_from_)) {
        // [run to T, step over its hit, run to T] is [run to T twice]: a run
        // steps over the hit it starts from. This keeps a point reached
        // through a million conditional-breakpoint hits one piece long.
        here_.pieces.pop_back();
        ++here_.pieces.back().count;
        fold_from_ = 0;
      } else {
        add_piece(here_, run_piece(serve_traps_));
        fold_from_ = 0;
      }
      StopInfo stop;
      stop.kind = hit.kind == TrapHit::Step ? StopInfo::Step : StopInfo::Hit;
      stop.hit = hit;
      stop.tid = rt.recorded_tid();
      serve(s, stop);
      return;
    }
    case Mode::Navigate:
    case Mode::Probe: {
      if (piece_index_ < target_.pieces.size()) {
        took_piece(target_.pieces[piece_index_]);
        if (piece_index_ == target_.pieces.size() && counting_) {
          count_result_ = Count{hit.executions, ip, stretch_ip_, hit.inside};
          throw GoalReached{};
        }
        if (piece_index_ == target_.pieces.size() && mode_ == Mode::Navigate) arrive(s, rt.recorded_tid());
        else if (interrupt_due()) serve_interrupt(s, rt.recorded_tid());
        return;
      }
      // Probe, stepping past the base.
      ++probe_steps_;
      add_piece(here_, step_piece(1));
      if (!probe_to_event_ && traps_hit(probe_goal_.traps, hit, ip)) {
        --probe_steps_;  // one step before the goal
        throw GoalReached{};
      }
      if (interrupt_due()) serve_interrupt(s, rt.recorded_tid());
      return;
    }
    case Mode::Search: {
      bool gdb_hit = debuggable(rt) && traps_hit(serve_traps_, hit, ip);
      TrapHit h = hit;
      if (h.kind == TrapHit::Step) {
        h.kind = TrapHit::Software;
        h.addr = ip;
      }
      if (in_target_stretch_ && piece_index_ < target_.pieces.size()) {
        const Piece p = search_form(target_.pieces[piece_index_]);
        if (p.step) {
          took_piece(p);
        } else {
          // gdb's traps may stop it short of the piece's own.
          add_piece(here_, run_piece(union_traps_));
          if (traps_hit(p.traps, hit, ip) && ++piece_done_ == p.count) {
            ++piece_index_;
            piece_done_ = 0;
          }
        }
        if (piece_index_ == target_.pieces.size()) {
          // At the target: a breakpoint there has not run yet, but a
          // watchpoint there stopped after its access, which is before it.
          if (gdb_hit && h.kind == TrapHit::Hardware && h.watch != WatchKind::Exec) last_hit_ = std::make_pair(here_, h);
          throw GoalReached{};
        }
      } else {
        add_piece(here_, run_piece(serve_traps_));
      }
      if (gdb_hit) last_hit_ = std::make_pair(here_, h);
      if (interrupt_due()) serve_interrupt(s, rt.recorded_tid());
      return;
    }
  }
}

void ReplayTimeline::took_piece(const Piece& p) {
  Piece one = p;
  if (!p.until) one.count = 1;  // a counted piece is done in one run
  add_piece(here_, one);
  if (p.until || ++piece_done_ == p.count) {
    ++piece_index_;
    piece_done_ = 0;
  }
}

void ReplayTimeline::stretch_ends(ReplaySession&, ReplayTask& rt) {
  if (mode_ == Mode::Serve && debuggable(rt) && resume_.step &&
      (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded_tid())) {
    step_finishes_after_event_ = true;
    step_stop_tid_ = rt.recorded_tid();
  }
  if (mode_ == Mode::Navigate && in_target_stretch_ && piece_index_ < target_.pieces.size() && lenient_ &&
      target_.located()) {
    // A position gdb's user asked for that the stretch never reaches: stop
    // at the event that ends it.
    fprintf(stderr, "rr: 0x%llx does not run %llu times after event %llu; stopping at event %llu\n",
            (unsigned long long)target_.pieces[0].until, (unsigned long long)target_.pieces[0].count + 1,
            (unsigned long long)target_.event, (unsigned long long)target_.event + 1);
    uint64_t next = target_.event + 1;
    target_ = Mark{};
    target_.event = next;
    in_target_stretch_ = false;
    return;
  }
  if (mode_ == Mode::Navigate && in_target_stretch_ && piece_index_ < target_.pieces.size())
    throw ReplayFailed{"the replay did not come back to the point it was asked to go to (event " +
                       std::to_string(target_.event + 1) + ", piece " + std::to_string(piece_index_ + 1) + " of " +
                       std::to_string(target_.pieces.size()) + ")"};
  if (mode_ == Mode::Probe && in_target_stretch_ && piece_index_ >= target_.pieces.size()) {
    if (probe_to_event_) throw GoalReached{};
    throw ReplayFailed{"the replay did not come back to the point gdb stopped at (event " + std::to_string(target_.event + 1) + ")"};
  }
}

bool ReplayTimeline::interrupt_due() {
  if (locating_) return false;
  if (++since_interrupt_check_ < 256) return false;
  since_interrupt_check_ = 0;
  return handler_.interrupted();
}

Resume ReplayTimeline::ask(ReplaySession& s, const StopInfo& stop) {
  auto next = handler_.stopped(s, stop);
  if (auto* j = std::get_if<TimelineJump>(&next)) throw *j;
  return std::get<Resume>(next);
}

void ReplayTimeline::serve(ReplaySession& s, const StopInfo& stop) {
  resume_ = ask(s, stop);
  step_finishes_after_event_ = false;
  serve_traps_ = handler_.traps();
}

void ReplayTimeline::serve_interrupt(ReplaySession& s, pid_t tid) {
  mode_ = Mode::Serve;
  fold_from_ = 0;
  StopInfo stop;
  stop.kind = StopInfo::Interrupted;
  stop.tid = tid;
  serve(s, stop);
}

void ReplayTimeline::after_event(ReplaySession& s) {
  uint64_t e = s.current_event();
  here_ = Mark{};
  here_.event = e;
  fold_from_ = 0;
  in_target_stretch_ = false;
  maybe_snapshot(s);
  // ^C while going backwards (or navigating) stops wherever the replay is:
  // a point of the past like any other.
  if (mode_ != Mode::Serve && interrupt_due()) {
    serve_interrupt(s, debugged_);
    return;
  }
  switch (mode_) {
    case Mode::Serve:
      if (report_signal(s)) return;
      if (step_finishes_after_event_) {
        StopInfo stop;
        stop.kind = StopInfo::Step;
        stop.tid = step_stop_tid_;
        serve(s, stop);
      } else if (interrupt_due()) {
        serve_interrupt(s, debugged_);
      }
      return;
    case Mode::Navigate:
      if (target_.at_boundary() && e == target_.event) arrive(s, debugged_);
      return;
    case Mode::Search:
      if (target_.at_boundary() && e == target_.event) throw GoalReached{};
      return;
    case Mode::Probe:
      if (probe_to_event_ && target_.at_boundary() && e == target_.event + 1)
        throw GoalReached{};  // the event ran no user code: the base is the answer
      return;
  }
}

bool ReplayTimeline::report_signal(ReplaySession& s) {
  const std::optional<SignalStop>& sig = s.signal_stop();
  if (!sig) return false;
  auto it = s.tasks().find(sig->tid);
  if (it == s.tasks().end() || !debuggable(*it->second)) return false;
  if (!sig->fatal && !handler_.reports_signal(sig->sig)) return false;
  StopInfo stop;
  stop.kind = StopInfo::Signal;
  stop.sig = sig->sig;
  stop.tid = sig->tid;
  serve(s, stop);
  if (sig->fatal) {
    // Nothing of the process runs past its fatal signal: every move forward
    // comes back here, and gdb can go backwards from the crash.
    stop.kind = StopInfo::ProcessExit;
    for (;;) ask(s, stop);
  }
  return true;
}

void ReplayTimeline::at_process_exit(ReplaySession& s, ReplayTask& rt) {
  if (!debuggable(rt)) return;
  uint64_t e = s.current_event();
  switch (mode_) {
    case Mode::Serve: {
      here_ = Mark{};
      here_.event = e;
      here_.at_exit = true;
      StopInfo stop;
      stop.kind = StopInfo::ProcessExit;
      stop.tid = rt.recorded_tid();
      for (;;) ask(s, stop);
    }
    case Mode::Navigate:
      if (target_.at_exit && (target_.event == e || target_.event == UINT64_MAX)) {
        target_.event = e;
        target_.pieces.clear();
        arrival_.kind = StopInfo::ProcessExit;
        arrive(s, rt.recorded_tid());
      }
      return;
    case Mode::Search:
      if (target_.at_exit && target_.event == e) throw GoalReached{};
      return;
    case Mode::Probe:
      return;
  }
}

// --- gdb checkpoints --------------------------------------------------------

Result<int> ReplayTimeline::add_checkpoint(ReplaySession& s, const std::string& note) {
  if (here_.at_exit) return make_error("no checkpoint can be taken at the end of the process");
  if (!s.can_checkpoint())
    return make_error("no checkpoint can be taken here (a vfork, exec, exit or signal is under way); step on and try again");
  RR_ASSIGN_OR_RETURN(Snapshot snap, cache_.take(s, here_, false));
  return cache_.add_checkpoint(std::move(snap), note);
}

bool ReplayTimeline::all_located() const {
  auto named = [](const Mark& m) { return m.located() || m.pieces.empty() || !m.ip; };
  if (!named(here_)) return false;
  return std::all_of(cache_.all().begin(), cache_.all().end(),
                     [&](const Snapshot& c) { return !c.id || c.persistent || named(c.mark); });
}

bool ReplayTimeline::checkpoints_ordered() const {
  std::vector<int> sorted = order_;
  std::sort(sorted.begin(), sorted.end());
  return sorted == cache_.checkpoint_ids();
}

void ReplayTimeline::order_checkpoints() {
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
      auto c = compare(out[j - 1].second, out[j].second);
      if (!c || *c <= 0) break;
      std::swap(out[j - 1], out[j]);
    }
  order_.clear();
  for (const auto& c : out) order_.push_back(c.first);
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
  for (;;) {
    try {
      switch (next.kind) {
        case TimelineJump::Quit:
          session_.reset();
          return {};
        case TimelineJump::Goto:
          go_to(next.mark, next.stop, next.user_position);
          break;
        case TimelineJump::Locate: {
          // Off the live replay: each locate() re-runs a stretch. Then back
          // to the same point, by its position now.
          locating_ = true;  // no ^C stop inside the re-runs or the way back
          Mark back = locate(here_);
          // Re-runs add and drop automatic snapshots: find each one by id again.
          for (int id : cache_.checkpoint_ids()) {
            Snapshot* c = cache_.checkpoint(id);
            if (!c || c->persistent) continue;
            Mark located = locate(c->mark);
            if ((c = cache_.checkpoint(id))) c->mark = located;
          }
          order_checkpoints();
          next.stop.quiet = true;
          go_to(back, next.stop);
          break;
        }
        case TimelineJump::ReverseContinue: {
          Mark from = here_;
          auto found = last_hit_before(from);
          StopInfo stop;
          if (!found) {
            stop.kind = StopInfo::HistoryBegin;
            go_to(beginning(), stop);
            break;
          }
          stop.kind = StopInfo::Hit;
          stop.hit = found->second;
          Mark where = found->first;
          if (stop.hit.kind == TrapHit::Hardware && stop.hit.watch != WatchKind::Exec) {
            // Going backwards, a watchpoint stops before the access.
            if (auto prev = previous_instruction(where)) where = *prev;
          }
          go_to(where, stop);
          break;
        }
        case TimelineJump::ReverseStep: {
          Mark from = here_;
          auto prev = previous_instruction(from);
          StopInfo stop;
          stop.kind = prev ? StopInfo::Step : StopInfo::HistoryBegin;
          go_to(prev ? *prev : beginning(), stop);
          break;
        }
      }
      // go_to returns only by a jump.
      return {};
    } catch (const TimelineJump& j) {
      next = j;
    } catch (const ReplayFailed& f) {
      session_.reset();
      return make_error(f.message);
    } catch (const FatalError& e) {
      session_.reset();
      return make_error(e.what());
    } catch (const GoalReached&) {
      session_.reset();
      return make_error("internal error: a search ended outside its replay");
    }
  }
}

}  // namespace rr
