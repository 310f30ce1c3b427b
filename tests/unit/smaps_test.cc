// parse_smaps: the mappings of /proc/PID/smaps with what maps does not say
// (MAP_NORESERVE, from the VmFlags line that follows each mapping's line).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

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

// Every field of a maps line (read by hand, not sscanf): hex device
// numbers, names with spaces and " (deleted)", a mapping without a name,
// the special ones, and lines that are no mapping's.
TEST(Smaps, EveryFieldOfAMapsLine) {
  std::vector<MapEntry> maps = parse_smaps(
      "7ffff7dd0000-7ffff7df6000 r--p 00026000 fd:1a 1311031                    /usr/lib/a b.so (deleted)\n"
      "7ffff7df6000-7ffff7df7000 rw-s 00000000 00:01 77                         /dev/zero (deleted)\n"
      "7ffff7df7000-7ffff7df8000 ---p 00000000 00:00 0\n"
      "Rss: 4 kB\n"
      "not a mapping\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]");
  ASSERT_EQ(maps.size(), 4u);
  EXPECT_EQ(maps[0].start.as_int(), 0x7ffff7dd0000u);
  EXPECT_EQ(maps[0].end.as_int(), 0x7ffff7df6000u);
  EXPECT_EQ(maps[0].prot, PROT_READ);
  EXPECT_FALSE(maps[0].shared);
  EXPECT_EQ(maps[0].offset, 0x26000u);
  EXPECT_EQ(maps[0].dev, makedev(0xfd, 0x1a));
  EXPECT_EQ(maps[0].inode, 1311031u);
  EXPECT_EQ(maps[0].name, "/usr/lib/a b.so (deleted)");
  EXPECT_EQ(maps[1].prot, PROT_READ | PROT_WRITE);
  EXPECT_TRUE(maps[1].shared);
  EXPECT_EQ(maps[1].inode, 77u);
  EXPECT_EQ(maps[2].prot, 0);
  EXPECT_EQ(maps[2].name, "");
  EXPECT_EQ(maps[3].start.as_int(), 0xffffffffff600000u);
  EXPECT_EQ(maps[3].prot, PROT_EXEC);
  EXPECT_EQ(maps[3].name, "[vsyscall]");
}

}  // namespace
}  // namespace rr
