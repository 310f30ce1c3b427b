#include "replay/armed_traps.h"

#include <string>

#include "util/fatal.h"

namespace rr {

namespace {

constexpr uint64_t kDr6Hits = 0xf;

}  // namespace

ArmedTraps::ArmedTraps(Task& t, const TrapSet& traps, RemotePtr<> skip) : t_(t) {
  for (RemotePtr<> a : traps.sw) {
    if (a == skip) continue;
    uint8_t orig;
    if (!t.read_mem(a, &orig, 1)) continue;  // not mapped (yet)
    uint8_t int3 = 0xcc;
    t.write_mem(a, &int3, 1);
    saved_.push_back({a, orig});
  }
  uint64_t dr7 = 0;
  for (size_t i = 0; i < traps.hw.size() && i < 4; ++i) {
    const HwWatch& w = traps.hw[i];
    if (w.kind == WatchKind::Exec && w.addr == skip) continue;
    if (!saved_regs_) {
      // A tracer inside the recording may have set debug registers of its
      // own in this task (replayed as recorded): they are kept around the
      // piece, and the slots it does not use keep working during it.
      saved_regs_ = std::array<uint64_t, 8>{};
      for (int r : {0, 1, 2, 3, 6, 7}) (*saved_regs_)[r] = t.debug_reg(r);
    }
    uint64_t rw = w.kind == WatchKind::Exec ? 0 : w.kind == WatchKind::Write ? 1 : 3;
    uint64_t len = w.kind == WatchKind::Exec ? 0 : w.len == 1 ? 0 : w.len == 2 ? 1 : w.len == 8 ? 2 : 3;
    t.set_debug_reg((int)i, w.addr.as_int());
    dr7 |= (1ull << (2 * i)) | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
    slots_ |= 1ull << i;
  }
  if (dr7) {
    uint64_t theirs = (*saved_regs_)[7];
    for (int i = 0; i < 4; ++i)
      if (slots_ & (1ull << i)) theirs &= ~((3ull << (2 * i)) | (0xfull << (16 + 4 * i)));
    t.set_debug_reg(6, 0);
    t.set_debug_reg(7, dr7 | theirs);
    dr7_set_ = true;
  }
}

uint64_t ArmedTraps::hits() { return dr7_set_ ? t_.debug_reg(6) & kDr6Hits & slots_ : 0; }

bool ArmedTraps::armed_sw(RemotePtr<> a) const {
  for (const auto& s : saved_)
    if (s.addr == a) return true;
  return false;
}

void ArmedTraps::disarm() {
  if (!take_out()) fatal_errno("cannot take the breakpoints out of tracee " + std::to_string(t_.tid()));
}

bool ArmedTraps::take_out() {
  if (!t_.alive()) return true;
  bool ok = true;
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) ok &= t_.try_write_mem(it->addr, &it->orig, 1);
  saved_.clear();
  if (dr7_set_) {
    if (saved_regs_ && ((*saved_regs_)[7] & 0xff)) {
      ok &= t_.try_set_debug_reg(7, 0);
      for (int r : {0, 1, 2, 3, 6, 7}) ok &= t_.try_set_debug_reg(r, (*saved_regs_)[r]);
    } else {
      ok &= t_.try_set_debug_reg(7, 0);
      ok &= t_.try_set_debug_reg(6, 0);
    }
    dr7_set_ = false;
  }
  return ok;
}

}  // namespace rr
