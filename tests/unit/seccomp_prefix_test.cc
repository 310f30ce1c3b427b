#include "record/seccomp_prefix.h"
#include "record/seccomp_eval.h"

#include <gtest/gtest.h>
#include <linux/seccomp.h>

namespace rr {
namespace {

// The kernel's answer for a filter, from the recorder's own evaluator.
uint32_t run(const std::vector<sock_filter>& prog, const seccomp_data& data) { return run_seccomp_filter(prog, data); }

constexpr uint64_t kRrIp = 0x70000002;

TEST(SeccompPrefix, RrPageSyscallsPassTheOthersMeetTheFilter) {
  std::vector<sock_filter> kill_all = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)};
  std::vector<sock_filter> p = prefix_filter(kill_all, kRrIp);
  EXPECT_EQ(p.size(), kill_all.size() + kFilterPrefixLength);
  seccomp_data d = {};
  d.nr = 9;
  d.instruction_pointer = kRrIp;
  EXPECT_EQ(run(p, d), (uint32_t)SECCOMP_RET_ALLOW);
  d.instruction_pointer = 0x555555555002;
  EXPECT_EQ(run(p, d), (uint32_t)SECCOMP_RET_KILL_PROCESS);
  // Same low half, other high half: not the rr page.
  d.instruction_pointer = (1ull << 32) | kRrIp;
  EXPECT_EQ(run(p, d), (uint32_t)SECCOMP_RET_KILL_PROCESS);
}

// The program's filter starts with both registers 0, as the kernel starts
// it, whatever the prefix loaded.
TEST(SeccompPrefix, TheFilterStartsFresh) {
  std::vector<sock_filter> ret_a = {BPF_STMT(BPF_RET | BPF_A, 0)};
  std::vector<sock_filter> ret_x = {BPF_STMT(BPF_MISC | BPF_TXA, 0), BPF_STMT(BPF_RET | BPF_A, 0)};
  seccomp_data d = {};
  d.instruction_pointer = 0x1234;
  EXPECT_EQ(run(prefix_filter(ret_a, kRrIp), d), 0u);
  EXPECT_EQ(run(prefix_filter(ret_x, kRrIp), d), 0u);
}

}  // namespace
}  // namespace rr
