// Points of a replay: the route algebra and positions' text form.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cctype>

#include "replay/position.h"

#include <algorithm>

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

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return isdigit((unsigned char)c); });
}

// "EVT:tT" or "EVT:tT+S"; `c1` is the colon's index.
std::optional<Mark> parse_tick_position(const std::string& text, size_t c1) {
  std::string rest = text.substr(c1 + 2);
  size_t plus = rest.find('+');
  std::string t = rest.substr(0, plus), s = plus == std::string::npos ? "0" : rest.substr(plus + 1);
  uint64_t event = 0, ticks = 0, steps = 0;
  if (!all_digits(text.substr(0, c1)) || !all_digits(t) || !all_digits(s)) return std::nullopt;
  // A tick piece counts in 32 bits, and so do steps.
  if (!whole_number(text.substr(0, c1), 10, &event) || event == 0 || !whole_number(t, 10, &ticks) ||
      ticks > UINT32_MAX || !whole_number(s, 10, &steps) || steps > UINT32_MAX)
    return std::nullopt;
  return Mark::at(TickPosition{event, ticks, (uint32_t)steps});
}

}  // namespace

bool Mark::tick_located() const {
  if (at_exit || !ticks || pieces.empty() || pieces.size() > 2) return false;
  size_t i = 0;
  uint64_t t = 0;
  if (pieces[0].ticks) t = pieces[i++].count;
  if (t != *ticks) return false;
  if (i == pieces.size()) return true;
  return i + 1 == pieces.size() && pieces[i].step;
}

TickPosition Mark::tick_position() const {
  TickPosition p;
  p.event = event;
  for (const Piece& piece : pieces) {
    if (piece.ticks) p.ticks = piece.count;
    if (piece.step) p.steps = piece.count;
  }
  return p;
}

Mark Mark::at(const TickPosition& p) {
  Mark m;
  m.event = p.event;
  m.ticks = p.ticks;
  if (p.ticks) m.pieces.push_back(tick_piece((uint32_t)p.ticks));
  if (p.steps) m.pieces.push_back(step_piece(p.steps));
  return m;
}

std::optional<Mark> parse_position(const std::string& text) {
  size_t c1 = text.find(':');
  uint64_t event = 0;
  if (c1 == std::string::npos) {
    if (!whole_number(text, 10, &event) || event == 0) return std::nullopt;
    Mark m;
    m.event = event;
    return m;
  }
  if (c1 + 1 < text.size() && text[c1 + 1] == 't') return parse_tick_position(text, c1);
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
  return Mark::at(Position{event, RemotePtr<>(a), k});
}

std::string position_text(const Mark& m) {
  if (m.tick_located()) {
    TickPosition p = m.tick_position();
    std::string t = std::to_string(p.event) + ":t" + std::to_string(p.ticks);
    return p.steps ? t + "+" + std::to_string(p.steps) : t;
  }
  if (!m.located()) return std::to_string(m.event);
  char buf[96];
  Position p = m.position();
  snprintf(buf, sizeof buf, "%llu:0x%llx:%llu", (unsigned long long)p.event, (unsigned long long)p.addr.as_int(),
           (unsigned long long)p.hits);
  return buf;
}

Piece step_piece(uint32_t count) {
  Piece p;
  p.step = true;
  p.count = count;
  return p;
}

Piece run_piece(const TrapSet& traps) {
  Piece p;
  p.traps = traps;
  return p;
}

Piece counted_piece(RemotePtr<> addr, uint32_t n) {
  Piece p;
  p.until = addr;
  p.count = n;
  return p;
}

Piece whole_piece(RemotePtr<> addr, uint32_t k) {
  Piece p;
  p.until = addr;
  p.count = k;
  p.whole = true;
  return p;
}

Piece tick_piece(uint32_t n) {
  Piece p;
  p.ticks = true;
  p.count = n;
  return p;
}

bool has_tick_piece(const Mark& m) {
  return std::any_of(m.pieces.begin(), m.pieces.end(), [](const Piece& p) { return p.ticks; });
}

Piece search_form(const Piece& p) {
  if (p.until.is_null()) return p;
  Piece r;
  r.traps.sw.push_back(p.until);
  r.count = p.whole ? p.count + 1 : p.count;
  return r;
}

void add_piece(Mark& m, const Piece& p) {
  if (p.whole && m.pieces.size() == 1 && m.pieces[0].whole && m.pieces[0].until == p.until) {
    m.pieces[0].count = p.count;
    return;
  }
  // A later tick of the same stretch replaces an earlier one: counts are
  // from the stretch's start.
  if (p.ticks && !m.pieces.empty() && m.pieces.back().ticks) {
    m.pieces.back().count = p.count;
    return;
  }
  if (!m.pieces.empty() && p.until.is_null() && !p.ticks && m.pieces.back().until.is_null() && !m.pieces.back().ticks &&
      m.pieces.back().step == p.step && (p.step || m.pieces.back().traps == p.traps)) {
    m.pieces.back().count += p.count;
    return;
  }
  m.pieces.push_back(p);
}

bool at_or_before(const Mark& a, const Mark& b) {
  if (a.event != b.event) return a.event < b.event;
  if (a.at_exit) return b.at_exit;
  if (b.at_exit) return true;
  if (a.pieces.size() > b.pieces.size()) return false;
  for (size_t i = 0; i < a.pieces.size(); ++i) {
    const Piece& x = a.pieces[i];
    const Piece& y = b.pieces[i];
    // A counted piece of a route is reached whole or not at all; of two
    // positions at one instruction, the one with fewer executions is first.
    bool partial_ok = x.step == y.step && x.traps == y.traps && x.until == y.until && x.whole == y.whole && x.ticks == y.ticks &&
                      x.count <= y.count && (x.until.is_null() || x.whole || x.count == y.count);
    if (i + 1 < a.pieces.size() ? !(x == y) : !partial_ok) return false;
  }
  return true;
}

std::optional<int> route_order(const Mark& a, const Mark& b) {
  if (a.event != b.event) return a.event < b.event ? -1 : 1;
  if (a.at_exit || b.at_exit) return a.at_exit == b.at_exit ? 0 : a.at_exit ? 1 : -1;
  if (a == b) return 0;
  // The counter's ticks only grow along the stretch.
  if (a.ticks && b.ticks && *a.ticks != *b.ticks) return *a.ticks < *b.ticks ? -1 : 1;
  if (a.tick_located() && b.tick_located()) {
    uint32_t x = a.tick_position().steps, y = b.tick_position().steps;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (at_or_before(a, b)) return -1;  // a route that goes on to b
  if (at_or_before(b, a)) return 1;
  return std::nullopt;
}

RouteProgress progress_of(const Mark& a, const Mark& b) {
  RouteProgress r;
  for (size_t i = 0; i < a.pieces.size(); ++i) {
    const Piece& x = a.pieces[i];
    if (x.count < b.pieces[i].count && (x.until.is_null() || x.whole)) {
      r.piece = i;
      r.done = x.whole ? x.count + 1 : x.count;
      return r;
    }
    r.piece = i + 1;
  }
  return r;
}

size_t route_weight(const Mark& m) {
  size_t w = 0;
  for (const Piece& p : m.pieces) w += p.count + (p.whole ? 1 : 0);
  return w + (m.at_exit ? 1u << 30 : 0);
}

}  // namespace rr
