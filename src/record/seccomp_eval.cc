#include "record/seccomp_eval.h"

#include <cstddef>
#include <cstring>

namespace rr {

uint32_t run_seccomp_filter(const std::vector<sock_filter>& program, const seccomp_data& data) {
  uint32_t a = 0, x = 0;
  uint32_t mem[BPF_MEMWORDS] = {};
  size_t pc = 0;
  auto word_at = [&](uint32_t off, uint32_t* out) {
    if (off % 4 != 0 || off + 4 > sizeof(data)) return false;
    memcpy(out, reinterpret_cast<const char*>(&data) + off, 4);
    return true;
  };
  while (pc < program.size()) {
    const sock_filter& in = program[pc++];
    uint32_t k = in.k;
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (!word_at(k, &a)) return SECCOMP_RET_KILL_PROCESS;
        break;
      case BPF_LD | BPF_W | BPF_LEN: a = sizeof(data); break;
      case BPF_LDX | BPF_W | BPF_LEN: x = sizeof(data); break;
      case BPF_LD | BPF_IMM: a = k; break;
      case BPF_LDX | BPF_IMM: x = k; break;
      case BPF_LD | BPF_MEM:
        if (k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
        a = mem[k];
        break;
      case BPF_LDX | BPF_MEM:
        if (k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
        x = mem[k];
        break;
      case BPF_ST:
        if (k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
        mem[k] = a;
        break;
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return SECCOMP_RET_KILL_PROCESS;
        mem[k] = x;
        break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_RET | BPF_K: return k;
      case BPF_RET | BPF_A: return a;
      case BPF_JMP | BPF_JA: pc += k; break;
      default:
        if (BPF_CLASS(in.code) == BPF_ALU) {
          uint32_t v = BPF_SRC(in.code) == BPF_X ? x : k;
          switch (BPF_OP(in.code)) {
            case BPF_ADD: a += v; break;
            case BPF_SUB: a -= v; break;
            case BPF_MUL: a *= v; break;
            case BPF_DIV:
              if (v == 0) return 0;  // the kernel's BPF ends a division by zero returning 0
              a /= v;
              break;
            case BPF_MOD:
              if (v == 0) return 0;
              a %= v;
              break;
            case BPF_AND: a &= v; break;
            case BPF_OR: a |= v; break;
            case BPF_XOR: a ^= v; break;
            case BPF_LSH: a = v >= 32 ? 0 : a << v; break;
            case BPF_RSH: a = v >= 32 ? 0 : a >> v; break;
            case BPF_NEG: a = -a; break;
            default: return SECCOMP_RET_KILL_PROCESS;
          }
          break;
        }
        if (BPF_CLASS(in.code) == BPF_JMP) {
          uint32_t v = BPF_SRC(in.code) == BPF_X ? x : k;
          bool taken;
          switch (BPF_OP(in.code)) {
            case BPF_JEQ: taken = a == v; break;
            case BPF_JGT: taken = a > v; break;
            case BPF_JGE: taken = a >= v; break;
            case BPF_JSET: taken = (a & v) != 0; break;
            default: return SECCOMP_RET_KILL_PROCESS;
          }
          pc += taken ? in.jt : in.jf;
          break;
        }
        return SECCOMP_RET_KILL_PROCESS;
    }
  }
  return SECCOMP_RET_KILL_PROCESS;  // ran off the end (the kernel refuses such a filter)
}

uint32_t combine_seccomp_returns(const std::vector<uint32_t>& returns) {
  uint32_t best = SECCOMP_RET_ALLOW;
  for (uint32_t r : returns)
    if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) < (int32_t)(best & SECCOMP_RET_ACTION_FULL)) best = r;
  return best;
}

}  // namespace rr
