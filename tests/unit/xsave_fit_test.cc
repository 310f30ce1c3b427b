#include "core/xsave_fit.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace rr {
namespace {

uint64_t bv_of(const std::string& a) {
  uint64_t bv;
  memcpy(&bv, a.data() + 512, 8);
  return bv;
}

// An area as an AVX-512 machine with PKRU gives it (x87, SSE, AVX, the
// three AVX-512 components and PKRU in use).
std::string amd_area() {
  std::string a(2696, '\0');
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(i * 7 + 3);
  uint64_t bv = 0x2e7, comp = 0;
  memcpy(a.data() + 512, &bv, 8);
  memcpy(a.data() + 520, &comp, 8);
  return a;
}

TEST(XsaveFit, GrowsKeepingEveryComponentAtItsOffset) {
  const std::string a = amd_area();
  auto out = fit_xsave_area(a, 11008, 0x602e7);
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 11008u);
  EXPECT_EQ(out->compare(0, 512, a, 0, 512), 0) << "legacy area";
  EXPECT_EQ(out->compare(576, a.size() - 576, a, 576, a.size() - 576), 0) << "AVX, AVX-512 and PKRU";
  EXPECT_EQ(out->find_first_not_of('\0', a.size()), std::string::npos) << "AMX left in its initial state";
  EXPECT_EQ(bv_of(*out), 0x2e7u);
}

TEST(XsaveFit, DropsComponentsThisCpuLacks) {
  // No PKRU here (XCR0 without bit 9): its state cannot be seen by a program.
  auto out = fit_xsave_area(amd_area(), 11008, 0x600e7);
  ASSERT_TRUE(out);
  EXPECT_EQ(bv_of(*out), 0xe7u);
}

TEST(XsaveFit, ShrinksToThisMachinesSize) {
  auto out = fit_xsave_area(amd_area(), 832, 0x7);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->size(), 832u);
  EXPECT_EQ(bv_of(*out), 0x7u);
}

TEST(XsaveFit, RefusesWhatIsNoStandardArea) {
  EXPECT_FALSE(fit_xsave_area(std::string(500, '\0'), 2696, 0x7)) << "shorter than legacy area and header";
  std::string compacted = amd_area();
  uint64_t comp = (1ull << 63) | 0x2e7;
  memcpy(compacted.data() + 520, &comp, 8);
  EXPECT_FALSE(fit_xsave_area(compacted, 11008, 0x602e7));
}

}  // namespace
}  // namespace rr
