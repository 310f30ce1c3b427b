#include "core/x86_insn.h"

#include <gtest/gtest.h>

#include <vector>

namespace rr {
namespace {

bool rep_string(std::vector<uint8_t> b) { return rep_string_insn(b.data(), b.size()); }

TEST(X86Insn, RepStringInstructions) {
  EXPECT_TRUE(rep_string({0xf3, 0xa4}));              // rep movsb
  EXPECT_TRUE(rep_string({0xf3, 0x48, 0xab}));        // rep stosq
  EXPECT_TRUE(rep_string({0xf2, 0xae}));              // repne scasb
  EXPECT_TRUE(rep_string({0xf3, 0xa6}));              // repe cmpsb
  EXPECT_TRUE(rep_string({0x66, 0xf3, 0xa5}));        // rep movsw
}

TEST(X86Insn, OtherInstructions) {
  EXPECT_FALSE(rep_string({0xa4}));                   // movsb, no prefix
  EXPECT_FALSE(rep_string({0xf3, 0xc3}));             // rep ret
  EXPECT_FALSE(rep_string({0xf3, 0x90}));             // pause
  EXPECT_FALSE(rep_string({0x48, 0x89, 0xc3}));       // mov rbx, rax
  EXPECT_FALSE(rep_string({0xf3}));                   // cut short
  EXPECT_FALSE(rep_string({}));
}

}  // namespace
}  // namespace rr
