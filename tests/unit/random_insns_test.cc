// rdrand and rdseed made traps (core/random_insns.h): which bytes of sample
// code are found, how a patched instruction decodes at its trap, and what
// the emulation writes.
#include "core/random_insns.h"

#include <gtest/gtest.h>

#include <cstring>

namespace rr {
namespace {

TEST(RandomInsns, FindsEveryWidthAndRegisterButNotLookalikes) {
  const uint8_t code[] = {
      0x0f, 0xc7, 0xf0,              // 00 rdrand eax
      0x48, 0x0f, 0xc7, 0xf9,        // 03 rdseed rcx (REX.W)
      0x66, 0x41, 0x0f, 0xc7, 0xf5,  // 07 rdrand r13w (0x66, REX.B)
      0xb8, 0x0f, 0xc7, 0xf0, 0x00,  // 0c mov eax, 0x00f0c70f: the bytes inside an immediate
      0x0f, 0xc7, 0x0e,              // 11 cmpxchg8b [rsi]: 0f c7 with a memory operand
      0xf3, 0x0f, 0xc7, 0xf8,        // 14 rdpid rax (f3 0f c7 /7)
      0xc3,                          // 18 ret
  };
  std::vector<size_t> got = find_random_insns(code, sizeof(code));
  EXPECT_EQ(got, (std::vector<size_t>{0x01, 0x05, 0x0a}));
}

TEST(RandomInsns, CodeWithoutTheOpcodeIsNotDecoded) {
  const uint8_t code[] = {0x90, 0x0f, 0xc7, 0x0e, 0xc3};  // cmpxchg8b only
  EXPECT_TRUE(find_random_insns(code, sizeof(code)).empty());
}

TEST(RandomInsns, DecodesPatchedInstructionsAndRefusesTheProgramsUd2) {
  const uint8_t rdseed_rcx[] = {0x48, 0x0f, kRandomTrapByte, 0xf9};
  std::optional<RandomInsn> in = decode_random_trap(rdseed_rcx, sizeof(rdseed_rcx));
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->seed);
  EXPECT_EQ(in->width, 64);
  EXPECT_EQ(in->reg, 1);
  EXPECT_EQ(in->len, 4u);
  const uint8_t rdrand_r13w[] = {0x66, 0x41, 0x0f, kRandomTrapByte, 0xf5};
  in = decode_random_trap(rdrand_r13w, sizeof(rdrand_r13w));
  ASSERT_TRUE(in);
  EXPECT_FALSE(in->seed);
  EXPECT_EQ(in->width, 16);
  EXPECT_EQ(in->reg, 13);
  EXPECT_EQ(in->len, 5u);
  // A program's ud2 followed by a lock prefix (0xf0) reads like a patched
  // rdrand eax: the bytes alone cannot tell them apart, so the recorder
  // checks the address too (program.rdrand_rdseed runs such a ud2).
  const uint8_t ud2_then_lock[] = {0x0f, 0x0b, 0xf0, 0x90};
  EXPECT_TRUE(decode_random_trap(ud2_then_lock, sizeof(ud2_then_lock)));
  const uint8_t ud2_then_nop[] = {0x0f, 0x0b, 0x90};
  EXPECT_FALSE(decode_random_trap(ud2_then_nop, sizeof(ud2_then_nop)));
  const uint8_t real_rdrand[] = {0x0f, 0xc7, 0xf0};
  EXPECT_FALSE(decode_random_trap(real_rdrand, sizeof(real_rdrand)));
}

TEST(RandomInsns, ApplyWritesTheOperandWidthAndFlags) {
  Registers regs;
  user_regs_struct& r = regs.raw();
  r.rax = 0x1111111111111111ull;
  r.r13 = 0x2222222222222222ull;
  r.eflags = 0x202 | 0x8c5;  // IF, and OF SF ZF PF CF set
  r.rip = 0x1000;
  apply_random(regs, RandomInsn{false, 32, 0, 3}, 0xaaaabbbbccccddddull);
  EXPECT_EQ(r.rax, 0xccccddddull);
  EXPECT_EQ(r.eflags, 0x203ull);
  EXPECT_EQ(r.rip, 0x1003ull);
  apply_random(regs, RandomInsn{true, 16, 13, 5}, 0x1234567890abcdefull);
  EXPECT_EQ(r.r13, 0x222222222222cdefull);
  apply_random(regs, RandomInsn{false, 64, 13, 4}, 0x1234567890abcdefull);
  EXPECT_EQ(r.r13, 0x1234567890abcdefull);
  EXPECT_EQ(r.rip, 0x1000ull + 3 + 5 + 4);
}

}  // namespace
}  // namespace rr
