#include "util/byte_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace rr {
namespace {

std::string text_of(const ByteBuffer& b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }

TEST(ByteBuffer, GrowingKeepsWhatItHeld) {
  ByteBuffer b(5);
  memcpy(b.data(), "hello", 5);
  for (size_t n = 6; n < 100000; n = n * 3 + 1) {
    b.resize(n);
    ASSERT_EQ(b.size(), n);
    ASSERT_EQ(text_of(b).substr(0, 5), "hello") << n;
  }
  b.resize(3);
  EXPECT_EQ(text_of(b), "hel");
}

TEST(ByteBuffer, ClearKeepsItsRoom) {
  ByteBuffer b(1 << 20);
  const uint8_t* at = b.data();
  b.clear();
  EXPECT_TRUE(b.empty());
  b.resize(1 << 20);
  EXPECT_EQ(b.data(), at);  // no new allocation
  b.resize((1 << 20) + 1);
  EXPECT_NE(b.data(), at);
}

TEST(ByteBuffer, MovingAndSwappingTakeTheBytes) {
  ByteBuffer a(3), c(2);
  memcpy(a.data(), "abc", 3);
  memcpy(c.data(), "xy", 2);
  ByteBuffer b = std::move(a);
  EXPECT_EQ(text_of(b), "abc");
  EXPECT_TRUE(a.empty());  // NOLINT: a moved-from buffer is empty, and usable
  a.resize(1);
  a.data()[0] = 'z';
  b.swap(c);
  EXPECT_EQ(text_of(b), "xy");
  EXPECT_EQ(text_of(c), "abc");
  c = std::move(a);
  EXPECT_EQ(text_of(c), "z");
}

}  // namespace
}  // namespace rr
