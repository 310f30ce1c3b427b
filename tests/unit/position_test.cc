// Positions inside an event as users write them (EVT:0xADDR:K), and the
// order of routes and positions that needs no re-run, and the route
// algebra (pieces, extension, progress) of replay/position.h.
#include <gtest/gtest.h>

#include "replay/position.h"

namespace rr {
namespace {

RemotePtr<> ptr(uint64_t addr) { return RemotePtr<>(addr); }

TEST(Position, ParsesAndPrintsTheSameText) {
  auto m = parse_position("37:0x55555555514b:700");
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->located());
  EXPECT_EQ(m->position().event, 37u);
  EXPECT_EQ(m->position().addr.as_int(), 0x55555555514bu);
  EXPECT_EQ(m->position().hits, 700u);
  EXPECT_EQ(position_text(*m), "37:0x55555555514b:700");
  // No executions yet: the first arrival at the instruction.
  auto first = parse_position("5:0x1000:0");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->position().hits, 0u);
}

TEST(Position, APlainEventIsABoundary) {
  auto m = parse_position("42");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->at_boundary());
  EXPECT_EQ(m->event, 42u);
  EXPECT_EQ(position_text(*m), "42");
}

TEST(Position, RejectsMalformedText) {
  for (const char* bad : {"", "0", "-3", "abc", "37:", "37:0x", "37:400:3", "37:0x400", "37:0x400:", "37:0x400:-1",
                          "37:0xzz:1", "37:0x400:1:2", "37:0x0:1", " 37", "37:0x400:99999999999", "0:0x400:1", "5:0x0x401000:3", "37:0x800000000000:1",
                          "37:0x400:4294967295", "37:0x400:+1", "+37:0x400:1"}) {
    EXPECT_FALSE(parse_position(bad).has_value()) << bad;
  }
}

TEST(Position, TickPositionsParseAndPrintTheSameText) {
  auto m = parse_position("37:t1200+7");
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->tick_located());
  EXPECT_FALSE(m->located());
  EXPECT_EQ(m->tick_position().event, 37u);
  EXPECT_EQ(m->tick_position().ticks, 1200u);
  EXPECT_EQ(m->tick_position().steps, 7u);
  ASSERT_EQ(m->pieces.size(), 2u);
  EXPECT_EQ(m->pieces[0], tick_piece(1200));
  EXPECT_EQ(m->pieces[1], step_piece(7));
  EXPECT_EQ(position_text(*m), "37:t1200+7");
  auto at_tick = parse_position("37:t1200");
  ASSERT_TRUE(at_tick.has_value() && at_tick->tick_located());
  EXPECT_EQ(position_text(*at_tick), "37:t1200");
  // Before the stretch's first tick: steps from its start.
  auto early = parse_position("37:t0+3");
  ASSERT_TRUE(early.has_value() && early->tick_located());
  EXPECT_EQ(early->pieces, std::vector<Piece>{step_piece(3)});
  EXPECT_EQ(position_text(*early), "37:t0+3");
  // Tick 0 and no step: the event's boundary.
  auto boundary = parse_position("37:t0");
  ASSERT_TRUE(boundary.has_value());
  EXPECT_TRUE(boundary->at_boundary());
  for (const char* bad : {"37:t", "37:t+3", "37:t5+", "37:t-5", "37:tx", "37:t5+3+1", "0:t5", "37:t4294967296",
                          "37:t5+4294967296", "37:t 5", "37:t5:3", "x:t5"})
    EXPECT_FALSE(parse_position(bad).has_value()) << bad;
}

TEST(Position, AStepThatMadeATickIsNotATickPosition) {
  // Reached from tick 4 by steps, the point is at tick 5: not (4, 3).
  Mark m = Mark::at(TickPosition{9, 4, 3});
  m.ticks = 5;
  EXPECT_FALSE(m.tick_located());
  EXPECT_EQ(position_text(m), "9");
}

TEST(Position, LocatedMarksCompareByTheirPosition) {
  Mark a = Mark::at(Position{10, ptr(0x400), 3});
  Mark b = Mark::at(Position{10, ptr(0x400), 3});
  Mark c = Mark::at(Position{10, ptr(0x400), 4});
  Mark d = Mark::at(Position{10, ptr(0x404), 3});
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  // A route that goes on from a position is not the position.
  Mark e = a;
  Piece step;
  step.step = true;
  e.pieces.push_back(step);
  EXPECT_FALSE(e.located());
  EXPECT_FALSE(a == e);
}

Mark route(uint64_t event, std::vector<Piece> pieces) {
  Mark m;
  m.event = event;
  m.pieces = std::move(pieces);
  return m;
}

TrapSet sw(uint64_t addr) {
  TrapSet t;
  t.sw.push_back(ptr(addr));
  return t;
}

TEST(Route, AddPieceMergesStepsAndRunsToTheSameTraps) {
  Mark m = route(5, {});
  add_piece(m, step_piece(1));
  add_piece(m, step_piece(2));
  ASSERT_EQ(m.pieces.size(), 1u);
  EXPECT_EQ(m.pieces[0], step_piece(3));
  add_piece(m, run_piece(sw(0x400)));
  add_piece(m, run_piece(sw(0x400)));
  ASSERT_EQ(m.pieces.size(), 2u);
  EXPECT_EQ(m.pieces[1].count, 2u);
  // Runs to other traps, and counted pieces, are pieces of their own.
  add_piece(m, run_piece(sw(0x404)));
  add_piece(m, counted_piece(ptr(0x404), 3));
  add_piece(m, counted_piece(ptr(0x404), 3));
  EXPECT_EQ(m.pieces.size(), 5u);
}

TEST(Route, AWholePieceReplacesOneOfTheSameInstruction) {
  Mark m = Mark::at(Position{7, ptr(0x400), 3});
  add_piece(m, whole_piece(ptr(0x400), 9));
  ASSERT_TRUE(m.located());
  EXPECT_EQ(m.position().hits, 9u);
  // At another instruction it goes on from the position.
  add_piece(m, whole_piece(ptr(0x500), 1));
  EXPECT_EQ(m.pieces.size(), 2u);
  EXPECT_FALSE(m.located());
}

TEST(Route, TickPiecesAreCountsFromTheStretchStart) {
  // A later tick replaces an earlier one (counts are from the stretch's
  // start), and never merges with a run to no traps.
  Mark m;
  m.event = 5;
  add_piece(m, tick_piece(10));
  add_piece(m, tick_piece(12));
  ASSERT_EQ(m.pieces.size(), 1u);
  EXPECT_TRUE(m.pieces[0].ticks);
  EXPECT_EQ(m.pieces[0].count, 12u);
  add_piece(m, run_piece(TrapSet{}));
  add_piece(m, step_piece(3));
  EXPECT_EQ(m.pieces.size(), 3u);
  EXPECT_TRUE(has_tick_piece(m));
  Mark r;
  r.event = 5;
  add_piece(r, run_piece(TrapSet{}));
  add_piece(r, tick_piece(4));
  EXPECT_EQ(r.pieces.size(), 2u);
  EXPECT_FALSE(r.pieces[0].ticks);
  // Ticks only grow: a smaller count on the same route comes first; a run
  // to no traps is not a tick piece.
  Mark a, b;
  a.event = b.event = 5;
  add_piece(a, tick_piece(7));
  add_piece(b, tick_piece(9));
  add_piece(b, step_piece(2));
  EXPECT_TRUE(at_or_before(a, b));
  EXPECT_FALSE(at_or_before(b, a));
  Mark c;
  c.event = 5;
  c.pieces.push_back(run_piece(TrapSet{}));
  c.pieces[0].count = 9;
  EXPECT_FALSE(at_or_before(a, c));
  EXPECT_FALSE(has_tick_piece(c));
}

TEST(Route, SearchFormRunsToArrivalsByBreakpoint) {
  Piece whole = search_form(whole_piece(ptr(0x400), 4));
  EXPECT_EQ(whole.traps, sw(0x400));
  EXPECT_EQ(whole.count, 5u);  // arrival k + 1
  EXPECT_TRUE(whole.until.is_null());
  Piece counted = search_form(counted_piece(ptr(0x400), 4));
  EXPECT_EQ(counted.count, 4u);
  EXPECT_EQ(search_form(step_piece(3)), step_piece(3));
}

TEST(Route, AtOrBeforeFollowsEventsThenRoutes) {
  Mark boundary = route(5, {});
  Mark later = route(5, {run_piece(sw(0x400)), step_piece(2)});
  EXPECT_TRUE(at_or_before(route(4, {step_piece(9)}), boundary));
  EXPECT_TRUE(at_or_before(boundary, later));
  EXPECT_FALSE(at_or_before(later, boundary));
  EXPECT_TRUE(at_or_before(route(5, {run_piece(sw(0x400)), step_piece(1)}), later));
  EXPECT_FALSE(at_or_before(route(5, {run_piece(sw(0x400)), step_piece(3)}), later));
  // A partial run to other traps is not on the way.
  EXPECT_FALSE(at_or_before(route(5, {run_piece(sw(0x404))}), later));
  // A counted step of a route is reached whole or not at all; positions at
  // one instruction by their executions.
  EXPECT_FALSE(at_or_before(route(5, {counted_piece(ptr(0x400), 2)}), route(5, {counted_piece(ptr(0x400), 3)})));
  EXPECT_TRUE(at_or_before(Mark::at(Position{5, ptr(0x400), 2}), Mark::at(Position{5, ptr(0x400), 3})));
  EXPECT_FALSE(at_or_before(Mark::at(Position{5, ptr(0x400), 3}), Mark::at(Position{5, ptr(0x400), 2})));
  // The exit is after every point of its event.
  Mark exit = boundary;
  exit.at_exit = true;
  EXPECT_TRUE(at_or_before(later, exit));
  EXPECT_FALSE(at_or_before(exit, later));
  EXPECT_TRUE(at_or_before(exit, exit));
}

TEST(Route, OrderNeedsNoReRunForRoutesThatExtendOneAnother) {
  Mark a = route(5, {step_piece(1)});
  Mark b = route(5, {step_piece(4)});
  EXPECT_EQ(route_order(a, b), -1);
  EXPECT_EQ(route_order(b, a), 1);
  EXPECT_EQ(route_order(a, a), 0);
  EXPECT_EQ(route_order(route(4, {}), a), -1);
  Mark exit = route(5, {});
  exit.at_exit = true;
  EXPECT_EQ(route_order(exit, b), 1);
  EXPECT_EQ(route_order(exit, exit), 0);
  // Two roads into one stretch: only a re-run can tell.
  EXPECT_EQ(route_order(route(5, {run_piece(sw(0x400))}), route(5, {run_piece(sw(0x500))})), std::nullopt);
  EXPECT_EQ(route_order(Mark::at(Position{5, ptr(0x400), 1}), Mark::at(Position{5, ptr(0x500), 1})), std::nullopt);
}

TEST(Route, ProgressSaysWhichPieceIsUnderWay) {
  Mark target = route(5, {run_piece(sw(0x400)), step_piece(4), whole_piece(ptr(0x500), 6)});
  RouteProgress none = progress_of(route(5, {}), target);
  EXPECT_EQ(none.piece, 0u);
  EXPECT_EQ(none.done, 0u);
  RouteProgress mid = progress_of(route(5, {run_piece(sw(0x400)), step_piece(2)}), target);
  EXPECT_EQ(mid.piece, 1u);
  EXPECT_EQ(mid.done, 2u);
  RouteProgress next = progress_of(route(5, {run_piece(sw(0x400)), step_piece(4)}), target);
  EXPECT_EQ(next.piece, 2u);
  EXPECT_EQ(next.done, 0u);
  // Into a whole piece: arrivals, k + 1 at (X, k).
  RouteProgress arrivals = progress_of(Mark::at(Position{5, ptr(0x500), 2}), Mark::at(Position{5, ptr(0x500), 6}));
  EXPECT_EQ(arrivals.piece, 0u);
  EXPECT_EQ(arrivals.done, 3u);
}

TEST(Route, WeightGrowsAlongARouteAndTheExitWeighsMost) {
  EXPECT_EQ(route_weight(route(5, {})), 0u);
  EXPECT_LT(route_weight(route(5, {step_piece(1)})), route_weight(route(5, {step_piece(2)})));
  EXPECT_EQ(route_weight(Mark::at(Position{5, ptr(0x400), 0})), 1u);
  Mark exit = route(5, {});
  exit.at_exit = true;
  EXPECT_GT(route_weight(exit), route_weight(route(5, {step_piece(100000)})));
}

TEST(Traps, MergedKeepsEachTrapOnceAndFourDebugRegisters) {
  TrapSet a = sw(0x400);
  TrapSet b = sw(0x400);
  b.sw.push_back(ptr(0x500));
  for (uint64_t i = 0; i < 5; ++i) b.hw.push_back(HwWatch{ptr(0x1000 + 8 * i), 8, WatchKind::Write});
  TrapSet m = merged_traps(a, b);
  EXPECT_EQ(m.sw, (std::vector<RemotePtr<>>{ptr(0x400), ptr(0x500)}));
  EXPECT_EQ(m.hw.size(), 4u);
}

TEST(Traps, HitsMatchTheirTraps) {
  TrapSet t = sw(0x400);
  t.hw.push_back(HwWatch{ptr(0x2000), 4, WatchKind::Write});
  EXPECT_TRUE(traps_hit(t, TrapHit{TrapHit::Software, ptr(0x400)}, ptr(0x400)));
  EXPECT_TRUE(traps_hit(t, TrapHit{TrapHit::Hardware, ptr(0x400), WatchKind::Exec}, ptr(0x400)));
  EXPECT_TRUE(traps_hit(t, TrapHit{TrapHit::Hardware, ptr(0x2000), WatchKind::Write}, ptr(0x1234)));
  EXPECT_FALSE(traps_hit(t, TrapHit{TrapHit::Hardware, ptr(0x2000), WatchKind::Read}, ptr(0x1234)));
  EXPECT_FALSE(traps_hit(t, TrapHit{TrapHit::Software, ptr(0x404)}, ptr(0x404)));
  // A step that lands on a breakpoint is where a run would have stopped.
  EXPECT_TRUE(traps_hit(t, TrapHit{TrapHit::Step}, ptr(0x400)));
  EXPECT_FALSE(traps_hit(t, TrapHit{TrapHit::Step}, ptr(0x401)));
}

TEST(Position, PointsOfOneStretchCompareByTheirTicks) {
  Mark a = Mark::at(TickPosition{9, 40, 12});
  Mark b = Mark::at(TickPosition{9, 41, 0});
  Mark c = Mark::at(TickPosition{9, 41, 2});
  EXPECT_EQ(route_order(a, b), -1);
  EXPECT_EQ(route_order(c, b), 1);
  EXPECT_EQ(route_order(b, c), -1);
  EXPECT_EQ(route_order(c, c), 0);
  // Any two points whose ticks are known, whatever their routes.
  Mark hit = route(9, {run_piece(sw(0x400)), run_piece(sw(0x400))});
  hit.ticks = 100;
  Mark counted = Mark::at(Position{9, ptr(0x500), 3});
  counted.ticks = 60;
  EXPECT_EQ(route_order(counted, hit), -1);
  EXPECT_EQ(route_order(hit, a), 1);
  // Equal ticks by different roads: not known without a re-run.
  counted.ticks = 100;
  EXPECT_FALSE(route_order(counted, hit).has_value());
}

}  // namespace
}  // namespace rr
