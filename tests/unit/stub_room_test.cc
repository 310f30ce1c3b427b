// Where the progress counter puts the stubs of a code section
// (core/progress_counter.h, free_room_below): the highest free room below
// the code, never over a mapping, never below the lowest address in reach.
#include <gtest/gtest.h>

#include "core/progress_counter.h"

namespace rr {
namespace {

MapEntry mapping(uint64_t start, uint64_t end) {
  MapEntry m;
  m.start = RemotePtr<>(start);
  m.end = RemotePtr<>(end);
  return m;
}

constexpr uint64_t kPage = 0x1000;

TEST(StubRoom, RightBelowTheCodeWhenFree) {
  std::vector<MapEntry> maps = {mapping(0x7f0000, 0x800000), mapping(0x800000, 0x900000)};
  EXPECT_EQ(free_room_below(maps, 0x7f0000, 0x10000, 4 * kPage), 0x7f0000 - 4 * kPage);
}

TEST(StubRoom, SkipsGapsTooSmallAndMappingsInTheWay) {
  // Below the code: a mapping, a one-page gap, another mapping, then room.
  std::vector<MapEntry> maps = {mapping(0x600000, 0x700000), mapping(0x500000, 0x600000),
                                mapping(0x4f0000, 0x4ff000), mapping(0x4e0000, 0x4f0000)};
  // [0x4ff000, 0x500000) is one page: two do not fit there.
  EXPECT_EQ(free_room_below(maps, 0x600000, 0x10000, 2 * kPage), 0x4e0000 - 2 * kPage);
  EXPECT_EQ(free_room_below(maps, 0x600000, 0x10000, kPage), 0x4ff000);
}

TEST(StubRoom, NothingBelowTheLowestInReach) {
  std::vector<MapEntry> maps = {mapping(0x400000, 0x500000), mapping(0x300000, 0x3ff000)};
  EXPECT_EQ(free_room_below(maps, 0x400000, 0x3f0000, 2 * kPage), 0u);  // one page free above 0x3ff000 only
  EXPECT_EQ(free_room_below(maps, 0x400000, 0x3f0000, kPage), 0x3ff000);
  EXPECT_EQ(free_room_below(maps, 0x400000, 0x100000, 4 * kPage), 0x300000 - 4 * kPage);
  EXPECT_EQ(free_room_below({}, 0x20000, 0x10000, 0x20000), 0u);
}

TEST(StubRoom, AMappingAcrossTheTopEndsTheRoomThere) {
  // The code's own mapping starts below `below` (its .text is higher up).
  std::vector<MapEntry> maps = {mapping(0x700000, 0x900000)};
  EXPECT_EQ(free_room_below(maps, 0x800000, 0x10000, kPage), 0x700000 - kPage);
}

}  // namespace
}  // namespace rr
