#include "util/types.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace rr {
namespace {

struct Frame {
  uint64_t a;
  uint32_t b;
  uint16_t c[3];
  uint64_t d;
};

// Mistakes that must not compile: a number is not an address, element types
// do not mix without cast<U>(), an untyped pointer does not become a typed one.
static_assert(!std::is_convertible_v<uint64_t, RemotePtr<>>);
static_assert(!std::is_convertible_v<RemotePtr<>, RemotePtr<uint64_t>>);
static_assert(!std::is_convertible_v<RemotePtr<uint32_t>, RemotePtr<uint64_t>>);
static_assert(!std::is_constructible_v<RemotePtr<uint64_t>, RemotePtr<uint32_t>>);
static_assert(std::is_convertible_v<RemotePtr<Frame>, RemotePtr<>>);
static_assert(std::is_trivially_copyable_v<RemotePtr<Frame>>);
static_assert(sizeof(RemotePtr<Frame>) == sizeof(uint64_t));
static_assert(std::is_same_v<decltype(RemotePtr(uint64_t{1})), RemotePtr<>>);
static_assert((RemotePtr<uint64_t>(0x1000) + 2).as_int() == 0x1010);
static_assert((RemotePtr<>(0x1000) + 2).as_int() == 0x1002);

TEST(RemotePtr, ArithmeticStepsByElementSize) {
  RemotePtr<uint32_t> p(0x1000);
  EXPECT_EQ((p + 3).as_int(), 0x100cu);
  EXPECT_EQ((p - 1).as_int(), 0xffcu);
  EXPECT_EQ((p + 3) - p, 3u);
  p += 2;
  EXPECT_EQ(p.as_int(), 0x1008u);
  p -= 1;
  EXPECT_EQ(p.as_int(), 0x1004u);
  RemotePtr<Frame> f(0x2000);
  EXPECT_EQ((f + 1).as_int(), 0x2000u + sizeof(Frame));
}

TEST(RemotePtr, UntypedStepsByBytes) {
  RemotePtr<> p(0x1000);
  EXPECT_EQ((p + 3).as_int(), 0x1003u);
  EXPECT_EQ((p + 3) - p, 3u);
  EXPECT_TRUE(RemotePtr<>().is_null());
  EXPECT_FALSE(p.is_null());
}

TEST(RemotePtr, FieldIsAtTheMemberOffset) {
  RemotePtr<Frame> f(0x3000);
  RemotePtr<uint32_t> b = f.field(&Frame::b);
  EXPECT_EQ(b.as_int(), 0x3000u + offsetof(Frame, b));
  EXPECT_EQ(f.field(&Frame::d).as_int(), 0x3000u + offsetof(Frame, d));
  EXPECT_EQ(f.field(&Frame::a).as_int(), 0x3000u);
  auto c = f.field(&Frame::c);
  static_assert(std::is_same_v<decltype(c), RemotePtr<uint16_t[3]>>);
  EXPECT_EQ(c.as_int(), 0x3000u + offsetof(Frame, c));
  EXPECT_EQ(c.cast<uint16_t>().operator+(2).as_int(), 0x3000u + offsetof(Frame, c) + 4);
}

TEST(RemotePtr, CastKeepsTheAddress) {
  RemotePtr<Frame> f(0x4000);
  RemotePtr<uint64_t> words = f.cast<uint64_t>();
  EXPECT_EQ(words.as_int(), 0x4000u);
  EXPECT_EQ((words + 1).as_int(), 0x4008u);
  RemotePtr<> raw = f;
  EXPECT_EQ(raw.as_int(), 0x4000u);
  EXPECT_EQ(raw.cast<Frame>(), f);
}

TEST(RemotePtr, ComparesByAddress) {
  RemotePtr<uint64_t> a(0x10), b(0x18);
  EXPECT_LT(a, b);
  EXPECT_EQ(a + 1, b);
  EXPECT_NE(a, b);
  EXPECT_GE(b, a);
}

}  // namespace
}  // namespace rr
