#include "trace/fpu_digest.h"

#include <gtest/gtest.h>

#include <string>

namespace rr {
namespace {

// An XSAVE area of the size AVX-512 machines give, with distinct bytes.
std::string area() {
  std::string a(2696, '\0');
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(i * 7 + 3);
  return a;
}

TEST(FpuDigest, EveryStateByteCounts) {
  const std::string base = area();
  const uint64_t d = fpu_digest(base);
  // FCW, ST0, XMM0, XMM15's last byte, the first YMM upper half, the last byte.
  for (size_t at : {0u, 32u, 160u, 415u, 576u, 2695u}) {
    std::string changed = base;
    changed[at] ^= 1;
    EXPECT_NE(fpu_digest(changed), d) << "byte " << at << " is state";
  }
}

TEST(FpuDigest, BookkeepingBytesDoNotCount) {
  const std::string base = area();
  const uint64_t d = fpu_digest(base);
  // FOP, FIP, FDP; the kernel's software bytes; XSTATE_BV, XCOMP_BV and the
  // rest of the header.
  for (size_t at : {6u, 15u, 23u, 464u, 511u, 512u, 520u, 575u}) {
    std::string changed = base;
    changed[at] ^= 0xff;
    EXPECT_EQ(fpu_digest(changed), d) << "byte " << at << " is bookkeeping";
  }
}

TEST(FpuDigest, NeverZeroAndShortAreasWork) {
  EXPECT_NE(fpu_digest(std::string()), 0u);
  EXPECT_NE(fpu_digest(std::string(10, 'x')), fpu_digest(std::string(10, 'y')));
  // 512 bytes (FXSAVE only): the software bytes still do not count.
  std::string legacy = area().substr(0, 512);
  std::string changed = legacy;
  changed[500] ^= 1;
  EXPECT_EQ(fpu_digest(changed), fpu_digest(legacy));
}

}  // namespace
}  // namespace rr
