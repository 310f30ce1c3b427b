#include "core/registers.h"

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace rr {

#define RR_REG(name) RegisterInfo{#name, offsetof(user_regs_struct, name)}

const std::vector<RegisterInfo>& register_table() {
  static const std::vector<RegisterInfo> table = {
      RR_REG(rax), RR_REG(rbx),     RR_REG(rcx),     RR_REG(rdx),     RR_REG(rsi),     RR_REG(rdi),
      RR_REG(rbp), RR_REG(rsp),     RR_REG(r8),      RR_REG(r9),      RR_REG(r10),     RR_REG(r11),
      RR_REG(r12), RR_REG(r13),     RR_REG(r14),     RR_REG(r15),     RR_REG(rip),     RR_REG(eflags),
      RR_REG(cs),  RR_REG(ss),      RR_REG(ds),      RR_REG(es),      RR_REG(fs),      RR_REG(gs),
      RR_REG(fs_base), RR_REG(gs_base), RR_REG(orig_rax),
  };
  return table;
}

#undef RR_REG

uint64_t Registers::get(const RegisterInfo& info) const {
  uint64_t v;
  memcpy(&v, reinterpret_cast<const char*>(&r_) + info.offset, sizeof(v));
  return v;
}

uint64_t Registers::arg(int i) const {
  switch (i) {
    case 0: return r_.rdi;
    case 1: return r_.rsi;
    case 2: return r_.rdx;
    case 3: return r_.r10;
    case 4: return r_.r8;
    case 5: return r_.r9;
  }
  return 0;
}

void Registers::set_arg(int i, uint64_t v) {
  switch (i) {
    case 0: r_.rdi = v; break;
    case 1: r_.rsi = v; break;
    case 2: r_.rdx = v; break;
    case 3: r_.r10 = v; break;
    case 4: r_.r8 = v; break;
    case 5: r_.r9 = v; break;
  }
}

std::string Registers::to_bytes() const {
  return std::string(reinterpret_cast<const char*>(&r_), sizeof(r_));
}

bool Registers::from_bytes(const void* data, size_t len, Registers& out) {
  if (len != sizeof(user_regs_struct)) return false;
  memcpy(&out.r_, data, len);
  return true;
}

std::string Registers::diff(const Registers& other) const {
  std::string out;
  for (const RegisterInfo& info : register_table()) {
    uint64_t a = get(info), b = other.get(info);
    if (a == b) continue;
    char buf[96];
    snprintf(buf, sizeof(buf), "%s%s 0x%llx != 0x%llx", out.empty() ? "" : "; ", info.name,
             (unsigned long long)a, (unsigned long long)b);
    out += buf;
  }
  return out;
}

Registers Registers::at_point() const {
  constexpr unsigned long long kDebugFlags = (1ull << 16) | (1ull << 8);  // RF, TF
  Registers r = *this;
  r.r_.eflags &= ~kDebugFlags;
  r.r_.orig_rax = 0;
  return r;
}

bool Registers::same_point(const Registers& other) const {
  user_regs_struct x = at_point().r_, y = other.at_point().r_;
  return memcmp(&x, &y, sizeof x) == 0;
}

}  // namespace rr
