// Points of a replay and the algebra on them that needs no replay: a
// Mark names a point as an event plus a route of Pieces through the user
// code of the event after it; a Position names it by (event, instruction,
// executions). Comparing routes, extending them, and the text users write
// for positions live here; driving a replay to a point is gdb's
// ReplayTimeline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/registers.h"
#include "replay/traps.h"

namespace rr {

// One piece of a stretch of user code: `count` single steps, or `count`
// runs each to the next hit of `traps` (a breakpoint at the starting
// instruction is stepped over when the run before stopped at it), so a
// breakpoint hit a million times in a stretch is one piece. Re-running the same
// pieces from the same event reaches the same instruction: a list of pieces
// is a route to a point inside an event.
//
// A counted piece (`until` set) runs in one go with a hardware breakpoint
// counter (core/perf_counter.h), and has no traps:
// - with `whole`, it is a position (docs/architecture.md) and names the point
//   exactly: instruction `until` has run `count` times since the stretch
//   began (its first instruction included) and is about to run again. It
//   is then the only piece of its mark;
// - without, it is a step of a route: to just before execution number
//   `count` of `until` since the piece's start (the instruction it starts
//   at does not count).
//
// A tick piece (`ticks` set; no traps, no step) runs until the stretch has
// made `count` ticks of the software progress counter since it began
// (docs/progress-counter.md): counted branches, which replay stops at
// exactly by arming the counter. It stops at the target of the branch that
// made tick `count`, its stub done. Ticks only grow, so of two tick
// pieces at the same place in two routes the smaller count comes first.
struct Piece {
  bool step = false;
  uint32_t count = 1;
  TrapSet traps;
  RemotePtr<> until;  // the counted instruction (null: not a counted piece)
  bool whole = false;
  bool ticks = false;
  bool operator==(const Piece&) const = default;
};

// A position inside an event (docs/architecture.md): (event, address, hits).
struct Position {
  uint64_t event = 0;
  RemotePtr<> addr;
  uint64_t hits = 0;  // executions of addr since the stretch began
};

// A point inside an event named by the software progress counter
// (docs/progress-counter.md, "Positions by ticks"): the stretch after
// event `event` has made `ticks` ticks, and `steps` single steps have run
// since the point where it made the last of them (the target of the
// counted branch, its stub done), or since the stretch began for tick 0.
// Ticks only grow and the steps are those of one line of execution, so two
// such points compare by (ticks, steps) without a re-run.
struct TickPosition {
  uint64_t event = 0;
  uint64_t ticks = 0;
  uint32_t steps = 0;
};

// A point of the replay: after `event` events, plus `pieces` of the user
// code of the event after it; or, with `at_exit`, at the entry of the exit
// that ends the debugged process (during the event after `event`).
struct Mark {
  uint64_t event = 0;
  std::vector<Piece> pieces;
  bool at_exit = false;
  // The instruction the stretch's task is at when known (null: not known).
  // A hint for going back from here; not part of the point's name.
  RemotePtr<> ip;
  // Hints too: in a trace recorded with the progress counter, the ticks
  // the stretch made before this point; in any trace, the task's registers
  // here where a stop saw them. Ticks and registers together name the point
  // (as rr's ticks do), which is how going back one instruction finds it
  // again; the registers alone check a later arrival by the breakpoint
  // counters (ReplayTimeline).
  std::optional<uint64_t> ticks;
  std::optional<Registers> regs;
  bool operator==(const Mark& o) const { return event == o.event && pieces == o.pieces && at_exit == o.at_exit; }
  bool at_boundary() const { return pieces.empty() && !at_exit; }
  // Whether the point is named by its position (one whole counted piece).
  bool located() const { return pieces.size() == 1 && !pieces[0].until.is_null() && pieces[0].whole && !at_exit; }
  Position position() const { return Position{event, pieces[0].until, pieces[0].count}; }
  // Whether the point is named by its ticks: its route is a tick piece
  // then steps, one of them or none, and its ticks are the tick piece's
  // (steps that made a tick since name another point).
  bool tick_located() const;
  TickPosition tick_position() const;
  static Mark at(const TickPosition& p);
  static Mark at(const Position& p) {
    Mark m;
    m.event = p.event;
    Piece c;
    c.until = p.addr;
    c.count = (uint32_t)p.hits;
    c.whole = true;
    m.pieces.push_back(c);
    m.ip = p.addr;
    return m;
  }
};

// A position as users write it, "EVT:0xADDR:K" (the point where ADDR has
// run K times since event EVT, and is about to run again), "EVT:tT" or
// "EVT:tT+S" (a TickPosition: tick T of the stretch after event EVT, then
// S single steps), or a plain event number for a boundary. nullopt for
// anything else.
std::optional<Mark> parse_position(const std::string& text);
// A located or tick-located mark, or a boundary, in that form.
std::string position_text(const Mark& m);

// --- Pieces ------------------------------------------------------------------

// `count` single steps.
Piece step_piece(uint32_t count);
// One run to the next hit of `traps`.
Piece run_piece(const TrapSet& traps);
// A counted step of a route: to just before execution `n` of `addr` since
// the piece's start.
Piece counted_piece(RemotePtr<> addr, uint32_t n);
// The whole counted piece of position (addr, k).
Piece whole_piece(RemotePtr<> addr, uint32_t k);
// To the progress counter's tick `n` since the stretch began.
Piece tick_piece(uint32_t n);
// Whether m's route runs a tick piece.
bool has_tick_piece(const Mark& m);
// A counted piece as a search runs it: to the n-th arrival at its
// instruction, by breakpoint (the search's other traps join in). A whole
// piece (X, k) is arrival k + 1, the stretch's first instruction included.
// Other pieces are their own search form.
Piece search_form(const Piece& p);

// --- Routes -----------------------------------------------------------------

// Appends `p` to m's route, merged into the last piece when both step or
// both run to the same traps; a whole counted piece replaces one of the same
// instruction (reaching a later execution of it from an earlier one).
void add_piece(Mark& m, const Piece& p);
// Whether `a` comes at or before `b` on the same replay line: an earlier
// event, or the same event with a's pieces a beginning of b's.
bool at_or_before(const Mark& a, const Mark& b);
// The order of two points where it needs no re-run: <0 when a comes first,
// 0 for the same point, >0 after; nullopt for two points of one stretch
// whose routes do not extend one another. Two points of one stretch whose
// ticks are known (Mark::ticks) and differ are in the order of their ticks.
std::optional<int> route_order(const Mark& a, const Mark& b);
// How far into b's pieces a, a beginning of them (at_or_before(a, b)), has
// come: the piece under way and how much of it is done. Into a whole
// counted piece, `done` counts arrivals at its instruction (k + 1 at (X, k)).
struct RouteProgress {
  size_t piece = 0;
  uint32_t done = 0;
};
RouteProgress progress_of(const Mark& a, const Mark& b);
// How much running a route holds (steps, runs, arrivals; an exit point
// weighs most): of snapshots at one event, the heavier is the later.
size_t route_weight(const Mark& m);

}  // namespace rr
