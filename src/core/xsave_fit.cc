#include "core/xsave_fit.h"

#include <cstring>

namespace rr {

namespace {
constexpr size_t kHeaderAt = 512;  // XSTATE_BV, then XCOMP_BV
constexpr size_t kMinArea = 576;   // legacy area and header
}  // namespace

std::optional<std::string> fit_xsave_area(const std::string& area, size_t size, uint64_t xcr0) {
  if (area.size() < kMinArea || size < kMinArea) return std::nullopt;
  uint64_t xstate_bv, xcomp_bv;
  memcpy(&xstate_bv, area.data() + kHeaderAt, 8);
  memcpy(&xcomp_bv, area.data() + kHeaderAt + 8, 8);
  if (xcomp_bv & (1ull << 63)) return std::nullopt;  // compacted: offsets differ per machine
  std::string out = area;
  out.resize(size, '\0');
  xstate_bv &= xcr0;
  memcpy(out.data() + kHeaderAt, &xstate_bv, 8);
  return out;
}

uint64_t this_xcr0() {
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

}  // namespace rr
