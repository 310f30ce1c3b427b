// parse_smaps: the mappings of /proc/PID/smaps with what maps does not say
// (MAP_NORESERVE, from the VmFlags line that follows each mapping's line).
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <string>

#include "core/address_space.h"

namespace rr {
namespace {

// Two mappings as smaps lists them (fields abridged), the second a
// reservation made with MAP_NORESERVE.
const char kSmaps[] =
    "555555554000-555555556000 r-xp 00001000 08:01 1234                       /usr/bin/prog\n"
    "Size:                  8 kB\n"
    "AnonHugePages:         0 kB\n"
    "FilePmdMapped:         0 kB\n"
    "VmFlags: rd ex mr mw me\n"
    "7fff7000-10007fff8000 rw-p 00000000 00:00 0 \n"
    "Size:            17592186044416 kB\n"
    "Rss:                  96 kB\n"
    "ProtectionKey:         0\n"
    "VmFlags: rd wr mr mw me nr dd\n";

TEST(Smaps, NoReserveComesFromVmFlags) {
  std::vector<MapEntry> maps = parse_smaps(kSmaps);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[0].start.as_int(), 0x555555554000u);
  EXPECT_EQ(maps[0].prot, PROT_READ | PROT_EXEC);
  EXPECT_EQ(maps[0].name, "/usr/bin/prog");
  EXPECT_FALSE(maps[0].noreserve);
  EXPECT_EQ(maps[1].start.as_int(), 0x7fff7000u);
  EXPECT_EQ(maps[1].end.as_int(), 0x10007fff8000u);
  EXPECT_EQ(maps[1].name, "");
  EXPECT_TRUE(maps[1].noreserve);
  EXPECT_TRUE(mapping_record(maps[1]).noreserve);
}

TEST(Smaps, ProtectionKeyOfEachMapping) {
  std::vector<MapEntry> maps = parse_smaps("1000-2000 rw-p 00000000 00:00 0 \nProtectionKey:         3\nVmFlags: rd wr\n"
                                           "2000-3000 rw-p 00000000 00:00 0 \nProtectionKey:         0\n"
                                           "3000-4000 rw-p 00000000 00:00 0 \n");
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].pkey, 3);
  EXPECT_EQ(mapping_record(maps[0]).pkey, 3);
  EXPECT_EQ(maps[1].pkey, 0);
  EXPECT_EQ(maps[2].pkey, 0) << "a kernel without protection keys prints no line";
}

TEST(Smaps, FlagAtTheEndOfTheLine) {
  std::vector<MapEntry> maps = parse_smaps("1000-2000 rw-p 00000000 00:00 0 \nVmFlags: rd wr nr\n"
                                           "2000-3000 rw-p 00000000 00:00 0 \nVmFlags: rd wr mr nrx\n");
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_TRUE(maps[0].noreserve);
  EXPECT_FALSE(maps[1].noreserve);
}

}  // namespace
}  // namespace rr
