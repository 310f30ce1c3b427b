#include "record/seccomp_eval.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <cerrno>
#include <cstddef>
#include <sys/syscall.h>

namespace rr {
namespace {

seccomp_data call(int nr, uint64_t arg0 = 0) {
  seccomp_data d = {};
  d.nr = nr;
  d.arch = AUDIT_ARCH_X86_64;
  d.instruction_pointer = 0x401000;
  d.args[0] = arg0;
  return d;
}

// The shape libseccomp and hand-written filters have: the architecture
// checked, then a list of numbers.
std::vector<sock_filter> trace_getpid_refuse_write() {
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE | 42),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
}

TEST(SeccompEval, NumbersAndArchitecture) {
  auto f = trace_getpid_refuse_write();
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_getpid)), (uint32_t)(SECCOMP_RET_TRACE | 42));
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_write)), (uint32_t)(SECCOMP_RET_ERRNO | EPERM));
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_read)), (uint32_t)SECCOMP_RET_ALLOW);
  seccomp_data other = call(SYS_getpid);
  other.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(run_seccomp_filter(f, other), (uint32_t)SECCOMP_RET_KILL_PROCESS);
}

// Arguments, scratch memory, arithmetic and the other jumps.
TEST(SeccompEval, ArgumentsMemoryAndArithmetic) {
  std::vector<sock_filter> f = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),  // low half of arg 0
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff),
      BPF_STMT(BPF_ST, 3),
      BPF_STMT(BPF_LDX | BPF_MEM, 3),
      BPF_STMT(BPF_LD | BPF_IMM, 10),
      BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0),  // a = 10 + (arg0 & 0xff)
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x100, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 20, 0, 1),
      BPF_STMT(BPF_RET | BPF_A, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_ioctl, 5)), (uint32_t)SECCOMP_RET_ALLOW);    // 15
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_ioctl, 0x1ff)), 0x109u);  // 10 + 0xff has 0x100
  EXPECT_EQ(run_seccomp_filter(f, call(SYS_ioctl, 0x20)), 42u);                          // 42 > 20
  // The high half of the argument is another word.
  std::vector<sock_filter> high = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0]) + 4),
      BPF_STMT(BPF_RET | BPF_A, 0),
  };
  EXPECT_EQ(run_seccomp_filter(high, call(SYS_ioctl, 0x700000001ull)), 7u);
}

TEST(SeccompEval, BadLoadsEndTheRun) {
  std::vector<sock_filter> past_end = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, sizeof(seccomp_data)),
                                       BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  EXPECT_EQ(run_seccomp_filter(past_end, call(0)), (uint32_t)SECCOMP_RET_KILL_PROCESS);
  std::vector<sock_filter> unaligned = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_EQ(run_seccomp_filter(unaligned, call(0)), (uint32_t)SECCOMP_RET_KILL_PROCESS);
  std::vector<sock_filter> no_return = {BPF_STMT(BPF_LD | BPF_IMM, 1)};
  EXPECT_EQ(run_seccomp_filter(no_return, call(0)), (uint32_t)SECCOMP_RET_KILL_PROCESS);
}

// The kernel keeps the action of highest precedence; between equal
// actions, the filter installed last (listed first) gives the data.
TEST(SeccompEval, Precedence) {
  EXPECT_EQ(combine_seccomp_returns({}), (uint32_t)SECCOMP_RET_ALLOW);
  EXPECT_EQ(combine_seccomp_returns({SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE | 1, SECCOMP_RET_ERRNO | 5}),
            (uint32_t)(SECCOMP_RET_ERRNO | 5));
  EXPECT_EQ(combine_seccomp_returns({SECCOMP_RET_TRACE | 1, SECCOMP_RET_TRACE | 2}), (uint32_t)(SECCOMP_RET_TRACE | 1));
  EXPECT_EQ(combine_seccomp_returns({SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS}),
            (uint32_t)SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(combine_seccomp_returns({SECCOMP_RET_LOG, SECCOMP_RET_TRACE | 3}), (uint32_t)(SECCOMP_RET_TRACE | 3));
}

}  // namespace
}  // namespace rr
