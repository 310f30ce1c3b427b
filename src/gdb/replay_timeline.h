// ReplayTimeline: the debugger's view of a whole trace as one line of
// points (Marks) that can be visited in any order. It owns the live
// ReplaySession and drives it stop by stop (ReplaySession::run), keeps
// snapshots (in-memory copies of the replay, made by forking its tracees;
// checkpoint files in a private folder where a copy cannot be made; the
// trace's own persistent checkpoints) to start from, and implements going
// backwards:
// a reverse-continue replays from the latest snapshot before the current
// point to it with the breakpoints armed, and returns to the last hit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "gdb/snapshot_cache.h"
#include "replay/replay_session.h"
#include "replay/position.h"
#include "util/result.h"

namespace rr {

// Why the replay stopped for gdb.
struct StopInfo {
  // Exec: the process just replaced its image (execve), going forward.
  // ProcessExit: process `process` is about to end (at the entry of its
  // exit, or at its fatal signal: killed_by), still there to look at; the
  // replay goes past it only once gdb has heard how it ended and resumes
  // other processes it debugs.
  // Fork: thread `tid` forked process `child` (vforked with `vfork`: it
  // waits inside the kernel until the child execs or ends). VforkDone:
  // thread `tid`'s vfork returned.
  enum Kind { Arrived, Hit, Step, Interrupted, Signal, ProcessExit, HistoryBegin, Ended, Exec, Fork, VforkDone } kind = Arrived;
  pid_t tid = 0;   // recorded tid of the thread to report
  pid_t process = 0;  // Ended, ProcessExit: the process that ends (0: the debugged one)
  pid_t child = 0;    // Fork
  bool vfork = false;  // Fork
  TrapHit hit;     // for Hit
  int sig = 0;     // for Signal: about to be delivered
  int exit_code = 0, killed_by = 0;  // for Ended, ProcessExit
  // Back at the point gdb was stopped at after work off the live replay (a
  // Locate jump): gdb is not told of a stop; the server finishes the
  // command that asked for the work.
  bool quiet = false;
};

// What gdb asked for after a stop, going forward.
struct Resume {
  bool step = false;
  pid_t step_tid = 0;
};

// A jump out of the live replay, which gdb asks for at a stop: the
// timeline leaves the replay it serves gdb from and rebuilds one there.
struct TimelineJump {
  // Locate: name the current point and every gdb checkpoint by position
  // (re-runs that end the live replay), then come back (stop.quiet).
  enum Kind { ReverseContinue, ReverseStep, Goto, Locate, Quit } kind = Quit;
  Mark mark;         // Goto
  StopInfo stop;     // Goto, Locate: how to report the arrival
  // Locate: name the points by breakpoint counters only (a checkpoint file
  // keeps positions, not ticks), not by ticks.
  bool for_files = false;
  // Goto: the mark is a position gdb's user gave, which may not exist: then
  // the replay stops at the end of its event, with a warning.
  bool user_position = false;
};

// gdb's breakpoints and watchpoints by process (recorded tgid): gdb sets
// them per inferior, each process has its own.
using ProcessTraps = std::map<pid_t, TrapSet>;

// The gdb side the timeline reports stops to.
class StopHandler {
 public:
  virtual ~StopHandler() = default;
  // The replay is stopped (at the timeline's here()): serves gdb until it
  // resumes forward or asks for a jump, and returns which.
  virtual std::variant<Resume, TimelineJump> stopped(ReplaySession& s, const StopInfo& stop) = 0;
  // gdb's breakpoints and watchpoints now.
  virtual ProcessTraps traps() const = 0;
  // Whether gdb debugs process `tgid` (it has not detached from it): its
  // stops, signals, execs and exit are reported.
  virtual bool debugs(pid_t tgid) const = 0;
  // Whether gdb sent an interrupt (^C).
  virtual bool interrupted() = 0;
  // Whether gdb wants to hear of `sig` (not in its QPassSignals list).
  virtual bool reports_signal(int sig) const = 0;
  // Whether gdb hears of the fork that makes process `child`: its fork
  // events are on, and it does not hold an inferior for that process
  // already (from this fork met before the replay went back across it).
  virtual bool reports_fork(pid_t child, bool vfork) const = 0;
  // Whether gdb waits to hear that process `parent`'s vfork returned (it
  // heard of the vfork).
  virtual bool reports_vfork_done(pid_t parent) const = 0;
};

class ReplayTimeline {
 public:
  ReplayTimeline(std::string trace_dir, pid_t debugged, StopHandler& handler, bool use_checkpoints);
  ~ReplayTimeline();

  // Runs the debugging session: starts at `start` and serves until gdb quits.
  // Returns an error when the replay fails (a divergence, a bad trace).
  Status run(const Mark& start);

  // The current point (valid inside StopHandler::stopped).
  const Mark& here() const { return here_; }
  // The process gdb starts in (its first inferior), and where stops that
  // belong to no thread (an interrupt between events, the end) are told.
  pid_t debugged() const { return debugged_; }
  // Whether hardware breakpoint counters work here (and are not turned off):
  // without them points keep their routes.
  static bool counters_work();
  // Why they cannot be used ("" where they can).
  static std::string counters_unavailable();
  // Whether the trace was recorded with the software progress counter
  // (docs/progress-counter.md): stops know the ticks their stretch made,
  // and points are reached by them where that is cheaper.
  bool counter_trace() const { return counter_trace_; }
  // Whether going back uses the counter's ticks (a counter trace, and not
  // turned off by RR_GDB_TICKS=0, which tests and bench/ use to compare).
  bool ticks_road() const { return ticks_road_; }
  // The ticks the current stretch made before the current point (nullopt:
  // not known, or no counter).
  std::optional<uint64_t> ticks_here() const;
  // Why the last locate() or count re-run named no position.
  const std::string& no_position_why() const { return no_count_why_; }
  // Whether the current point and gdb's checkpoints are named by positions
  // (else a Locate jump does it). With `for_files`, by the breakpoint
  // counters' positions, which checkpoint files keep (tick positions do
  // not count).
  bool all_located(bool for_files = false) const;
  // gdb's checkpoints as the replay meets them, once a Locate jump has
  // ordered them (checkpoints_ordered()); by number before that.
  std::vector<const Snapshot*> checkpoints_in_order() const;
  bool checkpoints_ordered() const;
  // gdb's `checkpoint`: saves the current point; returns its number.
  Result<int> add_checkpoint(ReplaySession& s, const std::string& note);
  Status delete_checkpoint(int id) { return cache_.delete_checkpoint(id); }
  const std::vector<Snapshot>& snapshots() const { return cache_.all(); }
  // Copies every gdb checkpoint into the trace's checkpoints/ folder.
  Result<int> write_checkpoints() { return cache_.write_checkpoints(); }
  // Makes the trace's checkpoint files gdb checkpoints; returns how many are new.
  Result<int> load_checkpoints() { return cache_.load_checkpoints(); }
  // The first point of the trace (after the initial exec).
  static Mark beginning() {
    Mark m;
    m.event = 1;
    return m;
  }

 private:
  enum class Mode { Serve, Navigate, Search, Probe };
  // Why work on a replay ends: the mode's goal was reached (a search's, a
  // probe's, a count's end), gdb asked for a jump where it was served, or
  // the replay failed.
  struct Leave {
    enum Kind { Goal, Jump, Failed } kind = Goal;
    TimelineJump jump;    // Jump
    std::string failure;  // Failed
    static Leave goal() { return Leave{}; }
    static Leave to(TimelineJump j) { return Leave{Jump, std::move(j), {}}; }
    static Leave failed(std::string why) { return Leave{Failed, {}, std::move(why)}; }
  };
  // What work that replays toward a goal gives, or why it was left (a jump
  // or a failure: never Goal).
  template <class T>
  using Outcome = std::variant<T, Leave>;

  // At each stop of the replay (ReplaySession::run), what the mode makes
  // of it; nullopt goes on. The piece to run next inside a stretch comes
  // from next_piece().
  // `at`: the stop's hit (the progress counter's value there).
  void stretch_begins(ReplaySession& s, ReplayTask& rt, const TrapHit& at);
  // The ticks of the stretch at a stop inside it, from the counter's value.
  void note_ticks(const TrapHit& hit);
  // The point one instruction before `target` found by the progress
  // counter: replay to the tick before the target's (or to the stretch's
  // start), then single steps until the task is at the target's ticks and
  // registers. nullopt where the target's ticks or registers are not known,
  // or when that takes too many steps (another road is then taken).
  Outcome<std::optional<Mark>> previous_by_ticks(const Mark& target);
  // The most single steps going back by ticks takes from the tick before a
  // point to it: more means a long run without a counted branch (code the
  // counter does not cover), where another road is cheaper.
  static constexpr uint32_t kTickProbeSteps = 100000;
  RunRequest next_piece(ReplayTask& rt);
  std::optional<Leave> on_trap(ReplaySession& s, ReplayTask& rt, const TrapHit& hit);
  std::optional<Leave> stretch_ends(ReplayTask& rt);
  std::optional<Leave> after_event(ReplaySession& s, const ReplayStop& stop);
  std::optional<Leave> at_process_exit(ReplaySession& s, ReplayTask& rt);
  // The stop at rt's exit (rt at the entry of exit or exit_group).
  static StopInfo exit_stop(ReplayTask& rt);
  // The trace is over: every forward move reports the same end.
  Leave at_trace_end(ReplaySession& s);

  // Opens a session at the best snapshot for reaching `target` (the
  // latest one at or before it), positioned and with debugger stops.
  // With `strict`, only snapshots before `target` (not at it) count.
  Result<std::unique_ptr<ReplaySession>> open_for(const Mark& target, Mark* start, bool strict);
  // Replays to `target` and serves gdb there, until gdb asks for a jump
  // (or the replay fails).
  // With `lenient`, a position past its stretch's end stops at the event.
  Leave go_to(const Mark& target, const StopInfo& stop, bool lenient = false);
  // The last hit of gdb's traps before `target`, searching backwards
  // snapshot by snapshot; nullopt when there is none since the beginning.
  Outcome<std::optional<std::pair<Mark, TrapHit>>> last_hit_before(const Mark& target);
  // Names m by its position (event, X, k), X its
  // instruction and k how many times X ran since the stretch began, with
  // one re-run of the stretch. Returns m itself where that cannot be done
  // (no counters), at a boundary or exit, or when already so named. Ends
  // the live replay.
  // In a trace with the progress counter, a point whose ticks and
  // registers are known is named by its ticks instead (locate_by_ticks),
  // unless `counters_only`.
  Outcome<Mark> locate(Mark m, bool counters_only = false);  // by value: m may be here_
  // Names m by its TickPosition: one replay to its tick (or the stretch's
  // start) and single steps until the task is at m's registers. Returns m
  // itself where that cannot be done (its ticks or registers not known, too
  // many steps: code the counter does not cover). Ends the live replay.
  Outcome<Mark> locate_by_ticks(Mark m);  // by value: m may be here_
  // The breakpoint counters' road of locate().
  Outcome<Mark> locate_by_counters(Mark m);  // by value: m may be here_
  // Probe by ticks: the point is found `steps` single steps past the base.
  // Ends the probe (its goal), or with probe_arrives_ serves gdb there.
  std::optional<Leave> tick_probe_found(ReplaySession& s, ReplayTask& rt, uint32_t steps);
  // Goes to m (a point whose ticks and registers are known) by its ticks
  // and serves gdb there: the replay to its tick, then steps to its
  // registers, in one replay. Takes go_to(m) where that cannot be done.
  Leave go_to_by_ticks(const Mark& m, const StopInfo& stop);
  // Orders two points of the replay: <0 when a comes first, 0 for the same
  // point, >0 after. Routes that extend one another and positions at the
  // same instruction compare as they are; other points of one stretch by
  // re-running it (b located first, then one run to a counting b's
  // instruction). nullopt where counters cannot be used. Ends the live
  // replay.
  Outcome<std::optional<int>> compare(Mark a, Mark b);
  // The point one instruction before `target` (for reverse-stepi); nullopt
  // at the beginning.
  Outcome<std::optional<Mark>> previous_instruction(const Mark& target);
  // Runs `s` (with debugger stops) stop by stop until the mode's work ends.
  Leave drive(ReplaySession& s);
  // Opens a replay at the best snapshot for `target` (*start: its point)
  // and sets the timeline up to go there in `mode`.
  Result<std::unique_ptr<ReplaySession>> open_toward(Mode mode, const Mark& target, bool strict, Mark* start);
  // Opens a replay toward `target` and drives it in `mode` until the goal
  // (a search's, a probe's) is reached (nullopt); the replay then ends.
  std::optional<Leave> replay_for_goal(Mode mode, const Mark& target, bool strict, Mark* start);
  // What one re-run of m's stretch, from its start to m, counted.
  struct Count {
    uint64_t executions = 0;  // of the counted instruction, begun before m
    RemotePtr<> ip;           // m's instruction
    RemotePtr<> stretch_ip;   // the stretch's first instruction
    bool inside = false;      // m is between iterations of its instruction (REP)
  };
  // Replays from the start of m's stretch to m counting `addr` over the
  // whole stretch; nullopt where counters cannot be used. Ends the live
  // replay.
  Outcome<std::optional<Count>> count_to(Mark m, RemotePtr<> addr);  // by value: m may be here_
  // One jump gdb asked for: the work it needs, up to gdb's next jump.
  Leave take(const TimelineJump& j);
  // Tells the user, once per distinct line, that a slow road is taken and why.
  void tell_slow_road(const std::string& what);
  // Navigate: at the target, serves gdb (Serve mode from now on).
  std::optional<Leave> arrive(ReplaySession& s, pid_t tid);
  // Every 256 calls: whether gdb sent ^C.
  bool interrupt_due();
  // Reports an interrupt at here_ and serves gdb (Serve mode from now on).
  std::optional<Leave> serve_interrupt(ReplaySession& s, pid_t tid);
  // Serves gdb at here_ and takes what it asks for next: a resume (kept in
  // resume_), or a jump, which leaves the replay.
  std::optional<Leave> serve(ReplaySession& s, const StopInfo& stop);
  // Serves gdb at a point nothing runs past (the end of the trace, the
  // debugged process's exit) until it asks for a jump.
  Leave stay(ReplaySession& s, const StopInfo& stop);
  // Serve: whether the signal `sig` the event just applied stopped a task
  // with is reported (a debugged task's, one gdb wants to hear of).
  bool reports(ReplaySession& s, const SignalStop& sig) const;
  // Serve: the fork or vfork the event just applied made in a debugged
  // process, when gdb hears of them, or the return of a vfork gdb heard of.
  std::optional<StopInfo> fork_stop(ReplaySession& s, const ReplayStop& applied) const;
  // Reports it and serves gdb; a fatal one then stops at the process's end.
  std::optional<Leave> serve_signal(ReplaySession& s, const SignalStop& sig);
  // Orders gdb's checkpoints with compare() (re-runs: off the live replay).
  std::optional<Leave> order_checkpoints();
  // Leaves an automatic snapshot where one is due.
  void maybe_snapshot(ReplaySession& s);
  bool debuggable(const ReplayTask& rt) const;
  // gdb's traps in rt's process (none where gdb does not debug it).
  const TrapSet& gdb_traps(const ReplayTask& rt) const;
  // One step or run of the target's piece `p` done.
  void took_piece(const Piece& p);
  // A failure where a counted route arrived with registers other than the
  // target's known ones (nullopt: they match, or none are known).
  std::optional<Leave> check_counted_arrival(const Registers& now);

  std::string trace_dir_;
  pid_t debugged_;
  StopHandler& handler_;
  SnapshotCache cache_;  // gdb checkpoints and automatic snapshots
  std::unique_ptr<ReplaySession> session_;  // after cache_: goes first
  std::vector<int> order_;  // gdb checkpoint ids in replay order (order_checkpoints())

  Mode mode_ = Mode::Serve;
  Mark here_;            // where the replay is (pieces of the current stretch so far)
  Mark target_;          // Navigate, Search, Probe: where to go
  StopInfo arrival_;     // Navigate: how to report the arrival
  // Progress through target_.pieces in its stretch.
  bool in_target_stretch_ = false;
  size_t piece_index_ = 0;
  uint32_t piece_done_ = 0;
  // Serve: what gdb asked for.
  Resume resume_;
  bool step_finishes_after_event_ = false;
  pid_t step_stop_tid_ = 0;
  ProcessTraps serve_traps_;
  TrapSet union_traps_;  // Search: the piece's traps plus gdb's
  // Search: the latest hit found so far before target_.
  std::optional<std::pair<Mark, TrapHit>> last_hit_;
  // Probe: steps counted from the probe's base, and whether target_ was met.
  uint32_t probe_steps_ = 0;
  Piece probe_goal_;     // the last piece of the probed point (empty: its event's stop)
  bool probe_to_event_ = false;
  // Navigate for count_to(): count count_addr_ over the target's stretch.
  bool counting_ = false;
  bool lenient_ = false;
  bool locating_ = false;  // a Locate jump: no ^C stops until back  // Navigate: a target past its stretch's end stops at the event
  RemotePtr<> count_addr_;
  std::optional<Count> count_result_;
  std::string no_count_why_;  // why the last count or locate named no position
  std::set<std::string> told_;  // slow-road lines said already
  RemotePtr<> stretch_ip_;  // the first instruction of the current stretch
  uint64_t last_auto_snapshot_event_ = 0;
  RemotePtr<> skip_ip_;  // a breakpoint hit here: the next piece steps over it
  RemotePtr<> piece_from_hit_;  // the piece running started at a hit at this address
  RemotePtr<> fold_from_;  // Serve: here_ ends with one step taken from a hit here
  uint64_t since_interrupt_check_ = 0;  // events and search hits
  bool counter_trace_ = false;
  bool ticks_road_ = false;
  // The progress counter's value where the current stretch began (ticks =
  // base - value), and the ticks at the last stop; nullopt: not known.
  std::optional<uint64_t> stretch_base_;
  std::optional<uint64_t> ticks_now_;
  // Probe by ticks: the state to find (registers at tick probe_ticks_).
  std::optional<Registers> probe_state_;
  uint64_t probe_ticks_ = 0;
  bool probe_gave_up_ = false;
  // Probe by ticks from a base that may be the point itself (the base is
  // at its tick): the steps from the base to it, once found.
  std::optional<uint32_t> probe_found_steps_;
  // Probe by ticks: serve gdb where the point is found (go_to_by_ticks).
  bool probe_arrives_ = false;
};

}  // namespace rr
