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

// Code linked at the lowest address (a non-PIE program at 0x10000): no
// room below it, so the stubs go as high above it as reach allows, clear
// of its data and of rr's fixed pages.
TEST(StubRoom, AboveCodeLinkedLow) {
  std::vector<MapEntry> maps = {mapping(0x10000, 0x11000), mapping(0x11000, 0x12000), mapping(0x12000, 0x14000),
                                mapping(0x70000000, 0x70001000)};
  uint64_t need = 4 * kPage;
  uint64_t base = stub_room(maps, 0x11000, 0x11060, 0x11209, need);
  ASSERT_NE(base, 0u);
  EXPECT_EQ(base % kPage, 0u) << "a mapping's address";
  EXPECT_GT(base, 0x70120000u) << "far above the heap's start, clear of rr's pages";
  EXPECT_LE(base + need, 0x11060 + (1ull << 31) - kStubAreaMax) << "within a rel32 of the code's first byte";
  EXPECT_GE(base + need, 0x11060 + (1ull << 31) - kStubAreaMax - kPage) << "as high as reach allows";
  // PIE code with room below keeps its stubs right below it.
  std::vector<MapEntry> pie = {mapping(0x555555554000, 0x555555556000)};
  EXPECT_EQ(stub_room(pie, 0x555555554000, 0x555555554100, 0x555555555000, need), 0x555555554000 - need);
}

// Where the room within reach above the code is taken down to rr's fixed
// pages, the stubs skip those pages, though the syscall buffer is not
// mapped yet when an executable's code is planned.
TEST(StubRoom, NeverOverRrsOwnPages) {
  // The rr page and the counter page are mapped; the syscall buffer is not
  // yet (when an executable's code is planned).
  std::vector<MapEntry> maps = {mapping(0x10000, 0x11000), mapping(0x11000, 0x12000),
                                mapping(0x70000000, 0x70001000), mapping(0x70010000, 0x70011000),
                                mapping(0x70120000 + kPage, 0x7f100000)};
  uint64_t need = 2 * kPage;
  uint64_t base = stub_room(maps, 0x11000, 0x11000, 0x11800, need);
  ASSERT_NE(base, 0u);
  EXPECT_TRUE(base + need <= 0x70000000 || base >= 0x70120000) << std::hex << base;
  EXPECT_EQ(base, 0x70000000 - need);
}

// Overlapping ranges (a mapping inside another's range) are one.
TEST(StubRoom, OverlappingRangesAreOne) {
  std::vector<MapEntry> maps = {mapping(0x400000, 0x500000), mapping(0x300000, 0x3c0000), mapping(0x310000, 0x311000)};
  EXPECT_EQ(free_room_below(maps, 0x400000, 0x10000, kPage), 0x400000 - kPage);
  EXPECT_EQ(free_room_below(maps, 0x3c0000, 0x10000, kPage), 0x300000 - kPage)
      << "not the gap above the inner mapping, which is inside the outer one";
}

// Code above rr's pages with no room below (a library near the top of the
// address space, with ASLR off) gets no stubs above it: there is the
// stack's room to grow.
TEST(StubRoom, NeverAboveCodeNearTheTop) {
  std::vector<MapEntry> maps = {mapping(0x7ffff7fc3000, 0x7ffff7fc5000), mapping(0x7ffff7fc5000, 0x7ffff7fef000),
                                mapping(0x7ffffffde000, 0x7ffffffff000)};
  uint64_t lowest_in_reach = 0x7ffff7fef000 - ((1ull << 31) - kStubAreaMax);
  std::vector<MapEntry> full = maps;
  full.push_back(mapping(lowest_in_reach - kPage, 0x7ffff7fc3000));
  EXPECT_EQ(stub_room(full, 0x7ffff7fc5000, 0x7ffff7fc5000, 0x7ffff7fef000, kPage), 0u);
  EXPECT_EQ(stub_room(maps, 0x7ffff7fc5000, 0x7ffff7fc5000, 0x7ffff7fef000, kPage), 0x7ffff7fc3000 - kPage);
}

}  // namespace
}  // namespace rr
