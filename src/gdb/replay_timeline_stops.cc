// ReplayTimeline, driving a replay: the loop that runs it stop by stop
// (ReplaySession::run), and what each mode makes of a stop: where a
// stretch of user code begins (and how to run its next piece), a trap,
// the stretch's end, an event applied, a process about to exit, the end
// of the trace.
#include "gdb/replay_timeline.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace rr {

namespace {

// RR_GDB_COUNTER_SKEW=N (for tests): a navigation's counted pieces stop N
// executions late, as a breakpoint counter that missed N would, so that
// the arrival check (check_counted_arrival) runs where the machine's
// counters do not miss. (Counting a stretch, count_to, is not skewed.)
uint64_t counter_skew() {
  static const uint64_t skew = [] {
    const char* v = getenv("RR_GDB_COUNTER_SKEW");
    return v ? strtoull(v, nullptr, 10) : 0ull;
  }();
  return skew;
}

}  // namespace

ReplayTimeline::Leave ReplayTimeline::drive(ReplaySession& s) {
  RunRequest req;  // between stretches: on to the next stop
  for (;;) {
    Result<ReplayStop> ran = s.run(req);
    if (!ran.ok()) return Leave::failed(ran.error().message);
    const ReplayStop& stop = ran.value();
    if (stop.kind == ReplayStop::End) return at_trace_end(s);
    req = RunRequest{};
    if (stop.kind == ReplayStop::EventApplied) {
      if (auto leave = after_event(s, stop)) return *leave;
      continue;
    }
    ReplayTask& rt = *s.tasks().at(stop.tid);
    std::optional<Leave> leave;
    switch (stop.kind) {
      case ReplayStop::StretchBegins:
        stretch_begins(s, rt, stop.hit);
        req = next_piece(rt);
        req.stretch_counter = counting_ && in_target_stretch_ ? count_addr_ : RemotePtr<>();
        break;
      case ReplayStop::Trap:
        note_ticks(stop.hit);
        leave = on_trap(s, rt, stop.hit);
        if (!leave) req = next_piece(rt);
        break;
      case ReplayStop::StretchEnds: leave = stretch_ends(rt); break;
      case ReplayStop::ProcessExit: leave = at_process_exit(s, rt); break;
      case ReplayStop::EventApplied:
      case ReplayStop::End: break;
    }
    if (leave) return *leave;
  }
}

ReplayTimeline::Leave ReplayTimeline::at_trace_end(ReplaySession& s) {
  if (mode_ == Mode::Search || mode_ == Mode::Probe) return Leave::goal();
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
  return stay(s, end);
}

void ReplayTimeline::note_ticks(const TrapHit& hit) {
  ticks_now_.reset();
  if (stretch_base_ && hit.remaining) ticks_now_ = *stretch_base_ - *hit.remaining;
}

void ReplayTimeline::stretch_begins(ReplaySession& s, ReplayTask& rt, const TrapHit& at) {
  uint64_t e = s.current_event();
  if (here_.event == e && !here_.pieces.empty() && !here_.at_exit) {
    // Resumed inside a stretch (a restore): it stopped at a hit or a
    // counted arrival unless its last piece was a step. Its ticks so far
    // are the snapshot's, when it knew them.
    const Piece& last = here_.pieces.back();
    // A tick position is a position like (X, k): a breakpoint at it is
    // stepped over, whichever road reached it.
    skip_ip_ = last.step && !here_.tick_located() ? RemotePtr<>() : rt.task->regs().ip();
    stretch_base_.reset();
    ticks_now_.reset();
    if (at.remaining && here_.ticks) {
      stretch_base_ = *at.remaining + *here_.ticks;
      ticks_now_ = here_.ticks;
    }
    return;
  }
  // The counter's value before the stretch's first instruction.
  stretch_base_ = at.remaining;
  ticks_now_.reset();
  if (at.remaining) ticks_now_ = 0;
  skip_ip_ = {};
  fold_from_ = {};
  here_ = Mark{};
  here_.event = e;
  stretch_ip_ = rt.task->regs().ip();
  in_target_stretch_ = mode_ != Mode::Serve && e == target_.event && !target_.at_exit;
  piece_index_ = 0;
  piece_done_ = 0;
}

RunRequest ReplayTimeline::next_piece(ReplayTask& rt) {
  RunRequest d;
  // A tick piece: the ticks still to run to its count. None when the
  // count is not ahead of the stretch (or its ticks are not known): the
  // stretch then runs to its end, and the target is reported missed.
  auto ticks_to = [&](const Piece& p) -> uint64_t {
    return ticks_now_ && *ticks_now_ < p.count ? p.count - *ticks_now_ : 0;
  };
  piece_from_hit_ = {};
  if (!skip_ip_.is_null()) {
    d.skip_current = skip_ip_ == rt.task->regs().ip();
    if (d.skip_current) piece_from_hit_ = skip_ip_;
    skip_ip_ = {};
  }
  switch (mode_) {
    case Mode::Serve:
      if (!debuggable(rt)) return d;
      d.step = resume_.step && (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded().value);
      if (!gdb_traps(rt).empty()) d.traps = &gdb_traps(rt);
      return d;
    case Mode::Navigate:
    case Mode::Probe:
      if (!in_target_stretch_) return d;
      if (piece_index_ < target_.pieces.size()) {
        const Piece& p = target_.pieces[piece_index_];
        if (p.ticks) {
          d.ticks = ticks_to(p);
          return d;
        }
        if (!p.until.is_null()) {
          d.until = p.until;
          d.until_count = p.count;
          if (p.whole) {
            // Arrival k + 1 at X, from the stretch's start or from an
            // arrival at X already reached (a snapshot there).
            d.until_count = p.count + 1 - piece_done_;
            d.count_first = piece_done_ == 0;
          }
          if (mode_ == Mode::Navigate && !counting_) d.until_count += counter_skew();
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
        if (!c.until.is_null() && !c.whole && piece_done_ == 0) d.skip_current = d.skip_on_restart = true;
        d.step = p.step;
        if (p.ticks) d.ticks = ticks_to(p);
        union_traps_ = p.step ? gdb_traps(rt) : merged_traps(p.traps, gdb_traps(rt));
        d.traps = &union_traps_;
        return d;
      }
      if (!gdb_traps(rt).empty()) d.traps = &gdb_traps(rt);
      return d;
  }
  return d;
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::on_trap(ReplaySession& s, ReplayTask& rt, const TrapHit& hit) {
  RemotePtr<> ip = rt.task->regs().ip();
  here_.ip = ip;
  here_.ticks = ticks_now_;
  // The registers name the point with its ticks (a trace with the
  // progress counter) and check a later arrival by a counted route.
  here_.regs = rt.task->regs();
  // Stopped before an instruction with a breakpoint, or at a counted
  // arrival there (a position: about to run it): the next run steps over a
  // breakpoint at it, whichever road reached the point.
  skip_ip_ = hit.kind == TrapHit::Software || hit.kind == TrapHit::Counted ||
                     (hit.kind == TrapHit::Hardware && hit.watch == WatchKind::Exec)
                 ? ip
                 : RemotePtr<>();
  switch (mode_) {
    case Mode::Serve: {
      bool stepped = resume_.step && (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded().value);
      if (stepped) {
        // gdb steps over a breakpoint it stopped at by itself (out, step,
        // in, continue): remember when this step may be such a step-over.
        bool lone = here_.pieces.empty() || here_.pieces.back().step == false;
        fold_from_ = lone && !here_.pieces.empty() ? piece_from_hit_ : RemotePtr<>();
        add_piece(here_, step_piece(1));
      } else if (!fold_from_.is_null() && here_.pieces.size() >= 2 && here_.pieces.back().step && here_.pieces.back().count == 1 &&
                 !here_.pieces[here_.pieces.size() - 2].step && here_.pieces[here_.pieces.size() - 2].traps == gdb_traps(rt) && gdb_traps(rt).breaks_at(fold_from_)) {
        // [run to T, step over its hit, run to T] is [run to T twice]: a run
        // steps over the hit it starts from. This keeps a point reached
        // through a million conditional-breakpoint hits one piece long.
        here_.pieces.pop_back();
        ++here_.pieces.back().count;
        fold_from_ = {};
      } else {
        add_piece(here_, run_piece(gdb_traps(rt)));
        fold_from_ = {};
      }
      StopInfo stop;
      stop.kind = hit.kind == TrapHit::Step ? StopInfo::Step : StopInfo::Hit;
      stop.hit = hit;
      stop.tid = rt.recorded().value;
      return serve(s, stop);
    }
    case Mode::Navigate:
    case Mode::Probe: {
      if (piece_index_ < target_.pieces.size()) {
        const Piece& p = target_.pieces[piece_index_];
        if (p.ticks && hit.kind != TrapHit::Ticked)
          return Leave::failed("the replay stopped before the progress counter's tick " + std::to_string(p.count) +
                               " it was running to (event " + std::to_string(target_.event + 1) + ")");
        took_piece(p);
        if (piece_index_ == target_.pieces.size() && counting_) {
          count_result_ = Count{hit.executions, ip, stretch_ip_, hit.inside};
          return Leave::goal();
        }
        if (piece_index_ == target_.pieces.size() && mode_ == Mode::Navigate) {
          if (auto leave = check_counted_arrival(rt.task->regs())) return *leave;
          return arrive(s, rt.recorded().value);
        }
        // By ticks from the point's own tick: the base may be the point.
        if (piece_index_ == target_.pieces.size() && probe_state_ && ticks_now_ == probe_ticks_ &&
            rt.task->regs().same_point(*probe_state_))
          return tick_probe_found(s, rt, 0);
        if (interrupt_due()) return serve_interrupt(s, rt.recorded().value);
        return std::nullopt;
      }
      // Probe, stepping past the base.
      ++probe_steps_;
      add_piece(here_, step_piece(1));
      if (probe_state_) {
        // By ticks: the first stop at the target's ticks and registers.
        if (ticks_now_ == probe_ticks_ && rt.task->regs().same_point(*probe_state_)) {
          --probe_steps_;
          return tick_probe_found(s, rt, probe_steps_ + 1);
        }
        if (!ticks_now_ || *ticks_now_ > probe_ticks_ || probe_steps_ > kTickProbeSteps) {
          probe_gave_up_ = true;
          return Leave::goal();
        }
        if (interrupt_due()) return serve_interrupt(s, rt.recorded().value);
        return std::nullopt;
      }
      if (!probe_to_event_ && traps_hit(probe_goal_.traps, hit, ip)) {
        --probe_steps_;  // one step before the goal
        return Leave::goal();
      }
      if (interrupt_due()) return serve_interrupt(s, rt.recorded().value);
      return std::nullopt;
    }
    case Mode::Search: {
      bool gdb_hit = traps_hit(gdb_traps(rt), hit, ip);
      TrapHit h = hit;
      if (h.kind == TrapHit::Step) {
        h.kind = TrapHit::Software;
        h.addr = ip;
      }
      if (in_target_stretch_ && piece_index_ < target_.pieces.size()) {
        const Piece p = search_form(target_.pieces[piece_index_]);
        if (p.step || (p.ticks && hit.kind == TrapHit::Ticked)) {
          took_piece(p);
        } else if (p.ticks) {
          add_piece(here_, run_piece(union_traps_));  // a hit of gdb's on the way
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
          return Leave::goal();
        }
      } else {
        add_piece(here_, run_piece(gdb_traps(rt)));
      }
      if (gdb_hit) last_hit_ = std::make_pair(here_, h);
      if (interrupt_due()) return serve_interrupt(s, rt.recorded().value);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// A point reached before, and now again by a route with a counted piece,
// must have the registers it had: replay is deterministic, and only the
// hardware breakpoint counters can take the route elsewhere. On a VM whose
// debug registers another vCPU's single steps disturb, a counter may miss
// executions without a sign (docs/progress-counter.md, "Another process's
// single steps"); a stop at the wrong execution with other registers is
// told here. (One with the same registers is not.)
std::optional<ReplayTimeline::Leave> ReplayTimeline::check_counted_arrival(const Registers& now) {
  if (!target_.regs || !std::any_of(target_.pieces.begin(), target_.pieces.end(),
                                    [](const Piece& p) { return !p.until.is_null(); }))
    return std::nullopt;
  if (now.same_point(*target_.regs)) return std::nullopt;
  return Leave::failed("the replay came back to a point of event " + std::to_string(target_.event + 1) +
                       " it had reached before, by the hardware breakpoint counters, with other registers (now against "
                       "then: " + now.at_point().diff(target_.regs->at_point()) +
                       "): a counter missed or added executions, on the way here or when the point was reached "
                       "before, as on a VM where another process single-steps; RR_GDB_COUNTERS=0 turns them off");
}

void ReplayTimeline::took_piece(const Piece& p) {
  Piece one = p;
  if (p.until.is_null() && !p.ticks) one.count = 1;  // a counted or tick piece is done in one run
  add_piece(here_, one);
  if (!p.until.is_null() || p.ticks || ++piece_done_ == p.count) {
    ++piece_index_;
    piece_done_ = 0;
  }
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::stretch_ends(ReplayTask& rt) {
  if (mode_ == Mode::Serve && debuggable(rt) && resume_.step &&
      (resume_.step_tid <= 0 || resume_.step_tid == rt.recorded().value)) {
    step_finishes_after_event_ = true;
    step_stop_tid_ = rt.recorded().value;
  }
  if (mode_ == Mode::Navigate && in_target_stretch_ && piece_index_ < target_.pieces.size() && lenient_ &&
      (target_.located() || target_.tick_located())) {
    // A position gdb's user asked for that the stretch never reaches: stop
    // at the event that ends it.
    if (target_.located())
      fprintf(stderr, "rr: 0x%llx does not run %llu times after event %llu; stopping at event %llu\n",
              (unsigned long long)target_.pieces[0].until.as_int(), (unsigned long long)target_.pieces[0].count + 1,
              (unsigned long long)target_.event, (unsigned long long)target_.event + 1);
    else
      fprintf(stderr, "rr: the stretch after event %llu ends before %s; stopping at event %llu\n",
              (unsigned long long)target_.event, position_text(target_).c_str(), (unsigned long long)target_.event + 1);
    uint64_t next = target_.event + 1;
    target_ = Mark{};
    target_.event = next;
    in_target_stretch_ = false;
    return std::nullopt;
  }
  if (mode_ == Mode::Navigate && in_target_stretch_ && piece_index_ < target_.pieces.size())
    return Leave::failed("the replay did not come back to the point it was asked to go to (event " +
                         std::to_string(target_.event + 1) + ", piece " + std::to_string(piece_index_ + 1) + " of " +
                         std::to_string(target_.pieces.size()) + ", " + std::to_string(piece_done_) + " of its " +
                         std::to_string(target_.pieces[piece_index_].count) + " done when the stretch ended)");
  if (mode_ == Mode::Probe && in_target_stretch_ && probe_state_) {
    probe_gave_up_ = true;  // the stretch ended before its target's state
    return Leave::goal();
  }
  if (mode_ == Mode::Probe && in_target_stretch_ && piece_index_ >= target_.pieces.size()) {
    if (probe_to_event_) return Leave::goal();
    return Leave::failed("the replay did not come back to the point gdb stopped at (event " +
                         std::to_string(target_.event + 1) + ")");
  }
  return std::nullopt;
}

bool ReplayTimeline::interrupt_due() {
  if (locating_) return false;
  if (++since_interrupt_check_ < 256) return false;
  since_interrupt_check_ = 0;
  return handler_.interrupted();
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::serve(ReplaySession& s, const StopInfo& stop) {
  auto next = handler_.stopped(s, stop);
  if (auto* jump = std::get_if<TimelineJump>(&next)) return Leave::to(*jump);
  resume_ = std::get<Resume>(next);
  step_finishes_after_event_ = false;
  serve_traps_ = handler_.traps();
  return std::nullopt;
}

ReplayTimeline::Leave ReplayTimeline::stay(ReplaySession& s, const StopInfo& stop) {
  for (;;)
    if (auto leave = serve(s, stop)) return *leave;
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::serve_interrupt(ReplaySession& s, pid_t tid) {
  mode_ = Mode::Serve;
  fold_from_ = {};
  StopInfo stop;
  stop.kind = StopInfo::Interrupted;
  stop.tid = tid;
  return serve(s, stop);
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::after_event(ReplaySession& s, const ReplayStop& applied) {
  const SignalStop& sig = applied.signal;
  uint64_t e = s.current_event();
  here_ = Mark{};
  here_.event = e;
  fold_from_ = {};
  in_target_stretch_ = false;
  maybe_snapshot(s);
  // ^C while going backwards (or navigating) stops wherever the replay is:
  // a point of the past like any other.
  if (mode_ != Mode::Serve && interrupt_due()) return serve_interrupt(s, debugged_);
  switch (mode_) {
    case Mode::Serve:
      if (reports(s, sig)) return serve_signal(s, sig);
      if (auto fork = fork_stop(s, applied)) return serve(s, *fork);
      if (applied.exec.value && handler_.debugs(applied.exec.value)) {
        // gdb loads the new program (catch exec stops there).
        StopInfo stop;
        stop.kind = StopInfo::Exec;
        stop.tid = applied.exec.value;
        return serve(s, stop);
      }
      if (step_finishes_after_event_) {
        StopInfo stop;
        stop.kind = StopInfo::Step;
        stop.tid = step_stop_tid_;
        return serve(s, stop);
      }
      if (interrupt_due()) return serve_interrupt(s, debugged_);
      return std::nullopt;
    case Mode::Navigate:
      if (target_.at_boundary() && e == target_.event) return arrive(s, debugged_);
      return std::nullopt;
    case Mode::Search:
      if (target_.at_boundary() && e == target_.event) return Leave::goal();
      return std::nullopt;
    case Mode::Probe:
      // The event ran no user code: the base is the answer.
      if (probe_to_event_ && target_.at_boundary() && e == target_.event + 1) return Leave::goal();
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<StopInfo> ReplayTimeline::fork_stop(ReplaySession& s, const ReplayStop& applied) const {
  StopInfo stop;
  if (ReplayTask* parent = s.find_task(applied.vfork_done);
      parent && debuggable(*parent) && handler_.reports_vfork_done(parent->tgid.value)) {
    stop.kind = StopInfo::VforkDone;
    stop.tid = applied.vfork_done.value;
    return stop;
  }
  if (!applied.fork.child.value || !handler_.reports_fork(applied.fork.child.value, applied.fork.vfork))
    return std::nullopt;
  ReplayTask* rt = s.find_task(applied.fork.parent);
  if (!rt || !debuggable(*rt)) return std::nullopt;
  stop.kind = StopInfo::Fork;
  stop.tid = applied.fork.parent.value;
  stop.child = applied.fork.child.value;
  stop.vfork = applied.fork.vfork;
  return stop;
}

bool ReplayTimeline::reports(ReplaySession& s, const SignalStop& sig) const {
  if (!sig.sig) return false;
  ReplayTask* rt = s.find_task(sig.tid);
  if (!rt || !debuggable(*rt)) return false;
  return sig.fatal || handler_.reports_signal(sig.sig);
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::serve_signal(ReplaySession& s, const SignalStop& sig) {
  StopInfo stop;
  stop.kind = StopInfo::Signal;
  stop.sig = sig.sig;
  stop.tid = sig.tid.value;
  if (auto leave = serve(s, stop)) return leave;
  if (!sig.fatal) return std::nullopt;
  // The process ends with its fatal signal: first a stop at its end, where
  // it is still there (gdb can go backwards from the crash), as at an exit.
  ReplayTask* rt = s.find_task(sig.tid);
  stop.kind = StopInfo::ProcessExit;
  stop.process = rt ? rt->tgid.value : 0;
  stop.killed_by = sig.sig;
  return serve(s, stop);
}

StopInfo ReplayTimeline::exit_stop(ReplayTask& rt) {
  StopInfo stop;
  stop.kind = StopInfo::ProcessExit;
  stop.tid = rt.recorded().value;
  stop.process = rt.tgid.value;
  stop.exit_code = (int)(rt.task->regs().arg(0) & 0xff);  // exit's or exit_group's status
  return stop;
}

std::optional<ReplayTimeline::Leave> ReplayTimeline::at_process_exit(ReplaySession& s, ReplayTask& rt) {
  if (!debuggable(rt)) return std::nullopt;
  uint64_t e = s.current_event();
  switch (mode_) {
    case Mode::Serve: {
      here_ = Mark{};
      here_.event = e;
      here_.at_exit = true;
      // Any process gdb debugs stops at its exit, still there: gdb can look
      // at it and go back into it. gdb hears how it ended when it resumes
      // forward from here, and the replay goes past the exit only when gdb
      // debugs other processes and goes on with them (GdbServer::tell_end).
      return serve(s, exit_stop(rt));
    }
    case Mode::Navigate:
      if (target_.at_exit && (target_.event == e || target_.event == UINT64_MAX)) {
        target_.event = e;
        target_.pieces.clear();
        bool quiet = arrival_.quiet;
        arrival_ = exit_stop(rt);
        arrival_.quiet = quiet;
        return arrive(s, rt.recorded().value);
      }
      return std::nullopt;
    case Mode::Search:
      if (target_.at_exit && target_.event == e) return Leave::goal();
      return std::nullopt;
    case Mode::Probe:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace rr
