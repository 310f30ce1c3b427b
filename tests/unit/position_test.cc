// Positions inside an event as users write them (EVT:0xADDR:K), and the
// order of routes and positions that needs no re-run.
#include <gtest/gtest.h>

#include "replay/traps.h"

namespace rr {
namespace {

TEST(Position, ParsesAndPrintsTheSameText) {
  auto m = parse_position("37:0x55555555514b:700");
  ASSERT_TRUE(m.has_value());
  ASSERT_TRUE(m->located());
  EXPECT_EQ(m->position().event, 37u);
  EXPECT_EQ(m->position().addr, 0x55555555514bu);
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

TEST(Position, LocatedMarksCompareByTheirPosition) {
  Mark a = Mark::at(Position{10, 0x400, 3});
  Mark b = Mark::at(Position{10, 0x400, 3});
  Mark c = Mark::at(Position{10, 0x400, 4});
  Mark d = Mark::at(Position{10, 0x404, 3});
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

}  // namespace
}  // namespace rr
