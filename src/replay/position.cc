#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cctype>

#include "replay/traps.h"

namespace rr {

namespace {

bool whole_number(const std::string& s, int base, uint64_t* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || isspace((unsigned char)s[0])) return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, base);
  if (errno || *end) return false;
  *out = v;
  return true;
}

}  // namespace

std::optional<Mark> parse_position(const std::string& text) {
  size_t c1 = text.find(':');
  uint64_t event = 0;
  if (c1 == std::string::npos) {
    if (!whole_number(text, 10, &event) || event == 0) return std::nullopt;
    Mark m;
    m.event = event;
    return m;
  }
  size_t c2 = text.find(':', c1 + 1);
  if (c2 == std::string::npos) return std::nullopt;
  std::string addr = text.substr(c1 + 1, c2 - c1 - 1);
  uint64_t a = 0, k = 0;
  if (addr.size() < 3 || addr[0] != '0' || (addr[1] != 'x' && addr[1] != 'X')) return std::nullopt;
  for (size_t i = 2; i < addr.size(); ++i)
    if (!isxdigit((unsigned char)addr[i])) return std::nullopt;
  for (char c : text.substr(0, c1) + text.substr(c2 + 1))
    if (!isdigit((unsigned char)c)) return std::nullopt;
  // A user-space instruction (below the 47-bit boundary); k + 1 must fit
  // a counted piece's 32 bits.
  if (!whole_number(text.substr(0, c1), 10, &event) || event == 0 || !whole_number(addr.substr(2), 16, &a) || a == 0 ||
      a >= (1ull << 47) || !whole_number(text.substr(c2 + 1), 10, &k) || k >= UINT32_MAX)
    return std::nullopt;
  return Mark::at(Position{event, a, k});
}

std::string position_text(const Mark& m) {
  if (!m.located()) return std::to_string(m.event);
  char buf[96];
  Position p = m.position();
  snprintf(buf, sizeof buf, "%llu:0x%llx:%llu", (unsigned long long)p.event, (unsigned long long)p.addr,
           (unsigned long long)p.hits);
  return buf;
}

}  // namespace rr
