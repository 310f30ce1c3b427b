#include "record/seccomp_prefix.h"

#include <linux/seccomp.h>
#include <cstddef>

namespace rr {

std::vector<sock_filter> prefix_filter(const std::vector<sock_filter>& program, uint64_t ip) {
  constexpr uint32_t kIpLow = offsetof(struct seccomp_data, instruction_pointer);
  constexpr uint32_t kIpHigh = kIpLow + 4;
  std::vector<sock_filter> out = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLow),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)ip, 0, 3),  // no: to the program's start
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHigh),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(ip >> 32), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_IMM, 0),
      BPF_STMT(BPF_LDX | BPF_IMM, 0),
  };
  static_assert(kFilterPrefixLength == 7);
  out.insert(out.end(), program.begin(), program.end());
  return out;
}

}  // namespace rr
